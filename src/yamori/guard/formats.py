"""One server writing several outputs (log_destination = 'stderr,csvlog,jsonlog'): each
failure counted once, whichever file the guard reads it from first. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from ..records import AuthEvent

MAX_KEYS = 65536     # failures remembered (the oldest go first)
MAX_STEMS = 1024     # log file names remembered (one a day, usually)


class FormatMatch:
    def __init__(self) -> None:
        self.formats_seen: dict[tuple[str, str, str, str | None, str | None], Counter[str]] = {}
        self.stem_formats: dict[str, set[str]] = {}   # the formats read so far of each server's log

    def seen_before(self, path: str, fmt: str, ev: AuthEvent) -> bool:
        """One server writing .log, .csv and .json (log_destination = 'stderr,csvlog,jsonlog'):
        each failure counted once. Records of one server (same file name without its extension)
        are matched as multisets by time (to the second), kind and names: the n-th such failure
        read from one format is the n-th of any other. The second may differ by one between
        formats: PostgreSQL stamps `%t` with its own clock reading, apart from the one `%m`,
        csvlog and jsonlog share, so a failure near a second's end can fall on either side."""
        stem = _stem(path)
        second = (ev.time or "")[:19]
        names = (ev.kind, ev.user, ev.database)
        if stem not in self.stem_formats and len(self.stem_formats) >= MAX_STEMS:
            self.stem_formats.clear()   # bounded (one entry per log file name: a day's, usually)
        formats = self.stem_formats.setdefault(stem, set())
        formats.add(fmt)
        for when in (second, *(_next_seconds(second) if len(formats) > 1 else ())):
            seen = self.formats_seen.get((stem, when, *names))
            if seen is not None and seen[fmt] < max((n for f, n in seen.items() if f != fmt), default=0):
                seen[fmt] += 1
                return True
        key = (stem, second, *names)
        seen = self.formats_seen.get(key)
        if seen is None:
            seen = self.formats_seen[key] = Counter()
            if len(self.formats_seen) > MAX_KEYS:   # bounded: the oldest keys go first
                self.formats_seen.pop(next(iter(self.formats_seen)))
        seen[fmt] += 1
        return False


def _next_seconds(second: str) -> tuple[str, ...]:
    """The seconds before and after an ISO time stamp cut to the second (none if unreadable)."""
    try:
        at = datetime.fromisoformat(second)
    except ValueError:
        return ()
    return tuple((at + timedelta(seconds=d)).isoformat()[:19] for d in (-1, 1))


def _stem(path: str) -> str:
    """postgresql-2026-12-06.log / .csv / .json / .log.1 -> postgresql-2026-12-06"""
    name = path
    for _ in range(2):
        base, dot, ext = name.rpartition(".")
        if dot and (ext.isdigit() or ext in ("log", "csv", "json")):
            name = base
    return name
