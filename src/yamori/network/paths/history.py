"""Intermittent faults: a path that goes bad and good again is summarised (how often, how long,
when) in one standing finding instead of an alert that opens and closes every few minutes. Pure."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from ...records import Finding, Severity

WINDOW = 86400.0       # look back one day
INTERMITTENT_AFTER = 3  # episodes in the window that make a fault "intermittent"


@dataclass(slots=True)
class Episode:
    start: float
    end: float | None      # None: still going on
    what: str              # the finding's subject and message in short, e.g. "loss on sw → rt"
    check: str


class Intermittency:
    def __init__(self, path: str, window: float = WINDOW, after: int = INTERMITTENT_AFTER) -> None:
        self.path = path
        self.window = window
        self.after = after
        self.episodes: deque[Episode] = deque()

    def record(self, now: float, fault: Finding | None) -> None:
        """One round's outcome: its worst non-INFO finding, or None when the path was fine."""
        current = self.episodes[-1] if self.episodes and self.episodes[-1].end is None else None
        if fault is None:
            if current is not None:
                current.end = now
        elif current is None:
            self.episodes.append(Episode(now, None, f"{fault.check} {fault.subject}", fault.check))
        while self.episodes and (self.episodes[0].end or now) < now - self.window:
            self.episodes.popleft()

    def intermittent(self) -> bool:
        return len(self.episodes) >= self.after

    def summary(self, now: float) -> Finding | None:
        """A WARNING naming how often, how long and when, once the fault came and went often enough."""
        if not self.intermittent():
            return None
        durations = [(e.end or now) - e.start for e in self.episodes]
        longest = max(durations)
        typical = sorted(durations)[len(durations) // 2]
        total = sum(durations)
        whats: dict[str, int] = {}
        for episode in self.episodes:
            whats[episode.what] = whats.get(episode.what, 0) + 1
        main = max(whats, key=whats.__getitem__)
        check = next(e.check for e in self.episodes if e.what == main)
        last = self.episodes[-1]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last.start))
        state = "still going on" if last.end is None else f"last from {when} for {_span(durations[-1])}"
        hours = sorted({time.localtime(e.start).tm_hour for e in self.episodes})
        return Finding(check, Severity.WARNING, f"{self.path}: intermittent",
                       f"intermittent fault on path {self.path}: {len(self.episodes)} episodes in the last "
                       f"{_span(self.window)} (typically {_span(typical)}, longest {_span(longest)}, "
                       f"{_span(total)} in all; {state}); mostly: {main}; at hours {', '.join(map(str, hours))}",
                       "An intermittent fault is the kind that hides for weeks: look at the segment named, its port "
                       "counters and cabling, and compare the times with other events (load, backups, weather). "
                       "The history graphs of this path show each episode.")


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"
