"""What `yamori guard scan` prints and counts, as a mergeable tally.

The tally of the second half of a large file is built in a forked process (see
yamori.postgres.log.split) and absorbed after the first half's, so counts, the bounded source
table and the output come out exactly as one sequential pass would have made them.
"""

from __future__ import annotations

import json
from collections import Counter
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import Any, TextIO

from ..records import AuthEvent

MAX_SOURCES = 100_000   # bounded: a botnet cannot exhaust memory


def event_json(ev: AuthEvent, enc: Any = encode_basestring) -> str:
    """Byte for byte `json.dumps(ev.as_json(), ensure_ascii=False)`, without building a dict:
    one event per failure line makes the generic encoder a large share of a scan's time.
    (Written out inline: a helper call per field costs as much as the encoding.)"""
    t, s, u, d, e, r = ev.time, ev.source, ev.user, ev.database, ev.encryption, ev.role_exists
    return (f'{{"time": {"null" if t is None else enc(t)}, "source": {"null" if s is None else enc(s)}, '
            f'"user": {"null" if u is None else enc(u)}, "database": {"null" if d is None else enc(d)}, '
            f'"kind": {enc(ev.kind)}, "encryption": {"null" if e is None else enc(e)}, '
            f'"role_exists": {"null" if r is None else "true" if r else "false"}, "lang": {enc(ev.lang)}, '
            f'"trusted": {"true" if ev.trusted else "false"}, '
            f'"source_network": {"null" if ev.source_network is None else enc(ev.source_network)}}}')


def safe(text: str | None) -> str:
    """Attacker-chosen names shown to a person: control characters made visible."""
    if text is None:
        return "-"
    return json.dumps(text, ensure_ascii=False)[1:-1]


def event_text(ev: AuthEvent) -> str:
    flag = "" if ev.trusted else "  [UNTRUSTED: not attributable, never banned]"
    return (f"{ev.time or '-'} {ev.source or '-':<15} {ev.kind:<22} user={safe(ev.user)} "
            f"db={safe(ev.database)}{flag}")


class ScanTally:
    """Counts every event and writes its line to `out` (or keeps the lines when `out` is None)."""

    def __init__(self, as_json: bool, out: TextIO | None, *, later_half: bool = False) -> None:
        self.as_json = as_json
        self.later_half = later_half
        self.out = out
        self.kept: list[str] = []
        # (kind, lang, trusted, attributed) -> events, in order of first occurrence: one count
        # per event instead of five; totals, kinds and langs are read from it
        self.counts: dict[tuple[str, str, bool, bool], int] = {}
        # source -> failures, in order of first admission (most_common breaks ties by that order)
        self.sources: Counter[str] = Counter()
        # a later half counts the sources its own full table refused: the earlier half's table
        # may hold them, and then a sequential pass would have counted them
        self.refused: Counter[str] = Counter()
        self.overflow = False   # more refused sources than that: a merge could not be exact
        self._lines: list[str] = []

    @property
    def totals(self) -> dict[str, int]:
        t = {"failures": 0, "trusted": 0, "untrusted": 0, "attributed": 0}
        for (_, _, trusted, attributed), n in self.counts.items():
            t["failures"] += n
            t["trusted" if trusted else "untrusted"] += n
            t["attributed"] += n if attributed else 0
        return t

    @property
    def kinds(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for key, n in self.counts.items():
            out[key[0]] += n
        return out

    @property
    def langs(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for key, n in self.counts.items():
            out[key[1]] += n
        return out

    def add(self, ev: AuthEvent, enc: Any = encode_basestring) -> None:
        src = ev.source
        trusted = ev.trusted
        key = (ev.kind, ev.lang, trusted, bool(src) and trusted)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        if trusted and src:
            sources = self.sources
            if src in sources or len(sources) < MAX_SOURCES:
                sources[src] += 1
            elif self.later_half:
                if src in self.refused or len(self.refused) < MAX_SOURCES:
                    self.refused[src] += 1
                else:
                    self.overflow = True
        lines = self._lines
        if self.as_json:   # event_json, inline (once per failure)
            t, u, d, e, r = ev.time, ev.user, ev.database, ev.encryption, ev.role_exists
            lines.append(
                f'{{"time": {"null" if t is None else enc(t)}, "source": {"null" if src is None else enc(src)}, '
                f'"user": {"null" if u is None else enc(u)}, "database": {"null" if d is None else enc(d)}, '
                f'"kind": {enc(ev.kind)}, "encryption": {"null" if e is None else enc(e)}, '
                f'"role_exists": {"null" if r is None else "true" if r else "false"}, "lang": {enc(ev.lang)}, '
                f'"trusted": {"true" if trusted else "false"}, '
                f'"source_network": {"null" if (sn := ev.source_network) is None else enc(sn)}}}')
        else:
            lines.append(event_text(ev))
        if len(lines) >= 512:
            self.flush()

    def flush(self) -> None:
        """Write (or keep) the pending lines: one write per batch, not one per event."""
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines = []
            if self.out is None:
                self.kept.append(text)
            else:
                self.out.write(text)

    def fresh(self) -> ScanTally:
        """An empty tally of the same kind that keeps its output (for the other half of a file)."""
        return ScanTally(self.as_json, None, later_half=True)

    def state(self) -> dict[str, Any]:
        self.flush()
        return {"text": "".join(self.kept), "counts": self.counts, "sources": self.sources, "refused": self.refused,
                "overflow": self.overflow}

    def absorb(self, state: dict[str, Any]) -> bool:
        """Continue with a later half's tally: as if its events had been added here, in order.
        A source is admitted at its first event if the table has room then; the later half's
        sources are in first-seen order, so admitting them in that order is exact. False (and
        nothing changed) when the later half saw too many sources to merge exactly."""
        if state["overflow"]:
            return False
        self.flush()
        if self.out is not None:
            self.out.write(state["text"])
        else:
            self.kept.append(state["text"])
        counts = self.counts
        for key, n in state["counts"].items():
            counts[key] = counts.get(key, 0) + n
        sources = self.sources
        for src, n in state["sources"].items():
            if src in sources or len(sources) < MAX_SOURCES:
                sources[src] += n
        for src, n in state["refused"].items():
            if src in sources:
                sources[src] += n
        return True
