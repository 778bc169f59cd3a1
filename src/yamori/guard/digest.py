"""The daily digest: what the operator used to read in PostgreSQL's log every morning."""

from __future__ import annotations

from collections import Counter

from ..records import AuthEvent

MAX_KEYS = 10_000   # per counter: a botnet cannot grow the digest without bound


class Digest:
    def __init__(self) -> None:
        self.sources: Counter[str] = Counter()
        self.users: Counter[str] = Counter()
        self.databases: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.new_sources: list[str] = []
        self.untrusted = 0
        self.total = 0

    def add(self, ev: AuthEvent, new_source: bool = False) -> None:
        self.total += 1
        self.kinds[ev.kind] += 1
        if not ev.trusted:
            self.untrusted += 1
        for counter, key in ((self.sources, ev.source), (self.users, ev.user), (self.databases, ev.database)):
            if key is not None and (key in counter or len(counter) < MAX_KEYS):
                counter[key] += 1
        if new_source and ev.source and len(self.new_sources) < 100:
            self.new_sources.append(ev.source)

    def compose(self, day: str, top: int = 10) -> str:
        def names(counter: Counter[str]) -> str:
            return ", ".join(f"{_show(k)} ({n})" for k, n in counter.most_common(top)) or "none"
        lines = [f"PostgreSQL authentication failures, {day}: {self.total} "
                 f"({', '.join(f'{k} {n}' for k, n in self.kinds.most_common()) or 'none'})",
                 f"Top sources: {names(self.sources)}",
                 f"Users tried: {names(self.users)}",
                 f"Databases tried: {names(self.databases)}",
                 f"New sources in your networks: {', '.join(self.new_sources) or 'none'}"]
        if self.untrusted:
            lines.append(f"Suspected log-injection records (never banned): {self.untrusted}")
        return "\n".join(lines)


def _show(text: str) -> str:
    """Attacker-chosen names: control characters escaped, length bounded."""
    return repr(text)[1:-1][:64]
