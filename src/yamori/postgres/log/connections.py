"""A backend's own `connection received` line: where a failure's source comes from when the
log line carries no %h or %r. Searched backwards from the failure, nearest first; a line counts
only when its one reading names the backend's PID and what follows it is a record start
(written inside another record's names, such a line is not). Pure: works on the bytes given."""

from __future__ import annotations

import re

from .lines import LineGrammar

LOOKBACK = 1 << 20          # bytes kept behind the read position to find `connection received`
SEARCH_STEPS = (4096, 65536, LOOKBACK)
REJECTED = ("", -1, None)   # a connection line was found for the PID, but none was genuine


class ConnectionLines:
    def __init__(self, grammar: LineGrammar, markers: list[tuple[re.Pattern[str], bytes]]) -> None:
        self.grammar = grammar
        self.markers = markers   # (the message's regex, its literal start) per language

    def find(self, buf: bytes, base: int, end: int, pid: str) -> tuple[str, int, str | None] | None:
        """(host, stream offset, time) of the latest genuine `connection received` line backend
        `pid` wrote before buf[end] (`base`: the stream offset of buf[0]). REJECTED when such
        lines exist but each touches text that is not a record start; None when there is none."""
        rejected = False
        for step in SEARCH_STEPS:
            lo = max(0, end - step)
            for rx, marker in self.markers:
                i = buf.rfind(marker, lo, end)
                while i >= 0:
                    ls = buf.rfind(b"\n", 0, i) + 1
                    le = buf.find(b"\n", i)
                    found = self._line(buf[ls:le].decode("utf-8", "replace"), rx, pid)
                    if found:
                        if self.genuine_neighbours(buf, ls, le):
                            return found[0], base + ls, found[1]
                        rejected = True
                    i = buf.rfind(marker, lo, ls)
            if lo == 0:
                break
        return REJECTED if rejected else None

    def genuine_neighbours(self, buf: bytes, ls: int, le: int) -> bool:
        """The `connection received` line buf[ls:le] is followed by a record start: not text
        inside another record's names. (Written inside names, such a line, at least 74 bytes with
        its own prefix, cannot fit in one name of 63 bytes: it spans the separator between %u and
        %d, and what is left of %d cannot hold the next line's time stamp and PID, so the next line
        is never a record start. See docs/guard-log-integrity.md.)"""
        if le < 0 or le + 1 >= len(buf):
            return True   # nothing follows yet
        ne = buf.find(b"\n", le + 1)
        nxt = buf[le + 1:ne if ne >= 0 else len(buf)].decode("utf-8", "replace")
        return self.grammar.start_rx.match(nxt) is not None or self.grammar.spanned_start(buf, le + 1) is not None

    def _line(self, line: str, rx: re.Pattern[str], pid: str) -> tuple[str, str | None] | None:
        """(host, time) when the line's one reading is backend `pid`'s `connection received`."""
        readings = self.grammar.readings(line)
        if len(readings) != 1 or readings[0].groups.get("p") != pid:
            return None
        g = readings[0].groups
        m = rx.fullmatch(readings[0].message)
        return (m.group("host"), g.get("m") or g.get("t") or g.get("n")) if m else None
