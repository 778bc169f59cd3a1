"""How the lines of a stderr log split into records, whatever the names in them say.

A record starts with the `log_line_prefix`, a severity label (`FATAL:  `) or a secondary one
(`DETAIL:  `), then its message; PostgreSQL puts a tab after every newline inside a message, but
writes the names in the prefix (%u, %d) raw, so a newline in a name splits a record's prefix over
several lines and a label inside a name gives a line a second reading. This module answers the
structural questions on bytes handed to it: every reading of a line, whether a record starts at
a position (over several lines too), which secondary records follow a failure. Which reading is
the record and who sent it is the scanner's business (yamori.postgres.log.stderr).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .catalog import Catalog
from .prefix import Prefix, compile_prefix_pattern

NAMEDATALEN = 63            # PostgreSQL truncates user and database names to this many bytes
SPAN_LINES = 2 * NAMEDATALEN + 2   # lines a record's prefix may span (newlines in %u and %d)
SPAN_BYTES = 512            # ... and bytes (two names of 63 bytes and the prefix's fixed text)
DEFER = object()            # "the data ends before this can be decided: feed more"


class NeedMore(Exception):
    """A look-ahead ran into the end of the data before it could decide (more may follow)."""


@dataclass(slots=True)
class Reading:
    """One way a line splits into prefix (its groups and text), label and message."""

    groups: dict[str, str | None]
    label: str
    message: str
    prefix_text: str


class LineGrammar:
    """The record structure of one server's stderr log (its prefix, its message catalog)."""

    def __init__(self, prefix: Prefix, cat: Catalog) -> None:
        self.prefix = prefix
        self.catalog = cat
        labels = [f"{s}:  " for s in cat.severities] + list(cat.secondary)
        self.secondary = frozenset(cat.secondary)
        alt = "|".join(re.escape(x) for x in sorted(set(labels), key=len, reverse=True))
        self.label_rx = re.compile(f"(?:{alt})")
        self.prefix_rx = re.compile(prefix.pattern, re.DOTALL)
        self.greedy_prefix_rx = re.compile(compile_prefix_pattern(prefix.text, free="(?:.*)"), re.DOTALL)
        # An empty prefix also accepts bare messages without a severity label (a line copied out
        # of a log, as in incident 1)
        self.bare = prefix.text == ""
        self.start_rx = re.compile(f"(?P<label>{alt}|)" if self.bare else f"{prefix.pattern}(?P<label>{alt})")

    def readings(self, line: str) -> list[Reading]:
        """Every way the line splits into prefix + label + message."""
        out: list[Reading] = []
        if self.bare and not self.label_rx.match(line):
            return [Reading({}, "", line, "")]
        for m in self.label_rx.finditer(line):
            pm = self.prefix_rx.fullmatch(line, 0, m.start())
            if pm:
                out.append(Reading(pm.groupdict(), m.group(), line[m.end():], line[:m.start()]))
        return out

    def secondaries(self, buf: bytes, j: int, final: bool, heads: tuple[bytes, ...] = (),
                    pid: str | None = None,
                    failure: Callable[[Reading, str], bool] | None = None) -> tuple[str | object, int, bool]:
        """DETAIL/HINT records right after the failure; whether the line after them is an orphan.
        `heads`: the record's own prefix text when it spans lines (its DETAIL repeats it);
        `pid`: the record's backend; `failure(reading, continuation)`: whether a reading of a line
        is a failure whose names agree with its prefix (see `backend_secondary`)."""
        details: list[str] = []
        while j < len(buf):
            e = buf.find(b"\n", j)
            if e < 0:
                if not final:
                    return DEFER, j, False
                e = len(buf)
            head = next((h for h in heads if buf.startswith(h, j)), None)
            if head is None and not final and any(len(h) > len(buf) - j and h.startswith(buf[j:]) for h in heads):
                return DEFER, j, False   # the read ends inside what may be the record's own prefix again
            if head is not None:
                if not final and buf.find(b"\n", j + len(head)) < 0:
                    return DEFER, j, False   # the record's own next line is not all here yet
                lm = self.label_rx.match(buf[j + len(head):j + len(head) + 64].decode("utf-8", "replace"))
                if lm is not None and lm.group() in self.secondary:
                    e = buf.find(b"\n", j + len(head))
                    e = len(buf) if e < 0 else e
                    details.append(buf[j + len(head):e].decode("utf-8", "replace")[lm.end():])
                    j = _continued(buf, e + 1, details)
                    continue
            line = buf[j:e].decode("utf-8", "replace")
            m = self.start_rx.match(line)
            if not m:
                try:
                    spanned = self.spanned_start(buf, j, final)
                except NeedMore:
                    return DEFER, j, False
                if spanned is None:
                    return "\n".join(details), j, True
                label, e = spanned
                if label not in self.secondary:
                    return "\n".join(details), j, False
                details.append(buf[buf.rfind(b"\n", 0, e) + 1:e].decode("utf-8", "replace").split(label, 1)[-1])
                j = _continued(buf, e + 1, details)
                continue
            try:
                backend_secondary = (m.group("label") not in self.secondary and failure is not None
                                     and self.backend_secondary(buf, j, e, pid, final, failure))
            except NeedMore:
                return DEFER, j, False
            if backend_secondary:
                pass   # the first reading leaves out what follows %q: the backend's DETAIL, read as such
            elif m.group("label") not in self.secondary:
                try:
                    spanned = self.spanned_start(buf, j, final)
                except NeedMore:
                    return DEFER, j, False
                if spanned is None or spanned[0] not in self.secondary:
                    return "\n".join(details), j, False
                line = buf[j:spanned[1]].decode("utf-8", "replace")
                m = None
            if m is None:   # a secondary record whose prefix spans lines: its text after its label
                label = spanned[0]  # type: ignore[index]
                details.append(line.rsplit("\n", 1)[-1].split(label, 1)[-1])
                e = spanned[1]  # type: ignore[index]
            elif m.group("label") not in self.secondary:
                details.append(self.secondary_text(line, pid))
            else:
                details.append(line[m.end():])
            j = _continued(buf, e + 1, details)
        return "\n".join(details), j, False

    def backend_secondary(self, buf: bytes, j: int, e: int, pid: str | None, final: bool,
                          failure: Callable[[Reading, str], bool]) -> bool:
        """The line at buf[j:e] reads as a secondary record (DETAIL...) of backend `pid`, and no
        reading of it (with its continuation lines) is an authentication failure as a backend
        writes one: with what follows %q, and names that agree with the message's (`failure`).
        A label inside its names made its first reading another record's. (A backend writes one
        failure, then its DETAIL; a genuine failure line always has such a reading.)"""
        if pid is None or not self.prefix.session:
            return False
        first = buf[j:e].decode("utf-8", "replace")
        continuation: list[str] = []
        if _continued(buf, e + 1, continuation) >= len(buf) and not final:
            raise NeedMore   # more continuation lines may follow: the message is not all here
        extra = "".join(f"\n{x}" for x in continuation)
        secondary = False
        for r in self.readings(first):
            if self.prefix.session_missing(r.groups):
                continue
            if r.label in self.secondary:
                secondary = secondary or r.groups.get("p") == pid
            elif failure(r, extra):
                return False   # a backend's failure reading: not for this rule to decide
        return secondary

    def secondary_text(self, line: str, pid: str | None) -> str:
        """The text of the secondary record `backend_secondary` found in the line."""
        for r in self.readings(line):
            if not self.prefix.session_missing(r.groups) and r.label in self.secondary and r.groups.get("p") == pid:
                return r.message
        return ""

    def spanned_start(self, buf: bytes, j: int, final: bool = True) -> tuple[str, int] | None:
        """(label, end of its line) when a record starts at j with a prefix over several lines
        (a newline in a name, names at most NAMEDATALEN bytes); None when j starts no record.
        Raises NeedMore when the buffer ends before that is known and more data may follow
        (not `final`): deciding "no record" there would depend on where a read happened to end."""
        end = j - 1   # (an empty line at j ends at j: the next search starts after it)
        for _ in range(SPAN_LINES):
            nxt = buf.find(b"\n", end + 1)
            if nxt < 0 and not final and len(buf) - j <= SPAN_BYTES:
                raise NeedMore
            if nxt < 0 or nxt - j > SPAN_BYTES:
                return None
            end = nxt
            text = buf[j:end].decode("utf-8", "replace")
            for m in self.label_rx.finditer(text):
                if "\n" not in text[:m.start()]:
                    continue
                for rx in (self.prefix_rx, self.greedy_prefix_rx):
                    pm = rx.fullmatch(text, 0, m.start())
                    if pm is not None and all(len((pm.groupdict().get(k) or "").encode()) <= NAMEDATALEN
                                              for k in ("u", "d")):
                        return m.group(), end
        return None

    def orphan_before(self, buf: bytes, ls: int) -> bool:
        """A line that is neither a record start nor a tab continuation precedes this record:
        a newline inside a name in the prefix, i.e. this line may be forged."""
        if ls == 0:
            return False
        ps = buf.rfind(b"\n", 0, ls - 1) + 1
        if buf[ps:ps + 1] == b"\t":
            return False
        return self.start_rx.match(buf[ps:ls - 1].decode("utf-8", "replace")) is None


def _continued(buf: bytes, j: int, out: list[str]) -> int:
    """The tab-continued lines from j appended to `out` (tab removed); where the next line starts."""
    while j < len(buf) and buf[j] == 9:
        e = buf.find(b"\n", j)
        e = len(buf) if e < 0 else e
        out.append(buf[j + 1:e].decode("utf-8", "replace"))
        j = e + 1
    return j
