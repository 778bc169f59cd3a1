"""Which `log_line_prefix` a stderr log was written with, when nobody said: the candidate under
which most of the first lines start a record."""

from __future__ import annotations

import re

from .catalog import LOCALE_DIR, catalog
from .prefix import DEBIAN_PREFIX, compile_prefix

# Tried, in order, when no prefix is configured: Debian's, two common ones, none at all.
PREFIX_GUESSES = (DEBIAN_PREFIX, "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", "%m [%p] ", "%t [%p] ", "")


def guess_prefix(head: bytes, langs: tuple[str, ...] = ("en", "ja"), locale_dir: str = LOCALE_DIR) -> str:
    """The candidate prefix under which most of the first lines start a record."""
    lines = [ln for ln in head.decode("utf-8", "replace").split("\n")[:200] if ln and not ln.startswith("\t")]
    if not lines:
        return DEBIAN_PREFIX
    cat = catalog(langs, locale_dir)
    labels = "|".join(re.escape(f"{s}:  ") for s in cat.severities)
    best, score = "", 0   # nothing matches: bare messages (e.g. a line copied out of a log)
    for candidate in PREFIX_GUESSES:
        rx = re.compile(compile_prefix(candidate).pattern + f"(?:{labels})")
        n = sum(1 for ln in lines if rx.match(ln))
        if n > score:
            best, score = candidate, n
    return best
