"""Memory against the database's working set (incident 10: 6 GB -> 16 GB of RAM made the load
drop sharply). The same judgement as the postgres probe's `postgres.size_vs_ram`, shown per room
report. Pure: works on the newest stored samples of the postgres and system probes.

The stored figures are each database's size (`postgres.database_size`, the upper bound of its
working set), the buffer cache hit ratio (`postgres.cache_hit_ratio`, whether the hot part is
served from memory) and the host's RAM (`memory_total_bytes`). Data that outgrows RAM is no
problem while the hit ratio stays high; both together mean the working set no longer fits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..records import Sample, State

HIT_RATIO_OK = 0.95  # the postgres probe's default [postgres.thresholds] cache_hit_warning


@dataclass(frozen=True, slots=True)
class DatabaseMemory:
    server: str
    database_bytes: float
    memory_bytes: float | None
    cache_hit_ratio: float | None
    hit_ratio_ok: float = HIT_RATIO_OK

    @property
    def ratio(self) -> float | None:
        return self.database_bytes / self.memory_bytes if self.memory_bytes else None

    @property
    def state(self) -> State:
        ratio, hits = self.ratio, self.cache_hit_ratio
        if ratio is None or ratio < 1.0:
            return State.OK
        return State.WARNING if hits is not None and hits < self.hit_ratio_ok else State.OK

    def verdict(self) -> str:
        if self.ratio is None:
            return "no RAM figure stored yet (the system probe records memory_total_bytes)"
        size = f"databases {_gib(self.database_bytes)} against {_gib(self.memory_bytes or 0)} of RAM"
        hits = f", cache hit ratio {self.cache_hit_ratio:.1%}" if self.cache_hit_ratio is not None else ""
        if self.ratio < 1.0:
            return f"{size}{hits}: all of it fits in memory"
        if self.state == State.WARNING:
            return f"{size}{hits}: the working set no longer fits; more RAM (or less data per query) helps"
        return f"{size}{hits}: larger than RAM, but the hot part is served from memory"

    def as_json(self) -> dict[str, Any]:
        return {"server": self.server, "database_bytes": self.database_bytes, "memory_bytes": self.memory_bytes,
                "ratio": None if self.ratio is None else round(self.ratio, 3),
                "cache_hit_ratio": self.cache_hit_ratio, "state": self.state.label, "verdict": self.verdict()}


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB"


def database_memory(latest: Iterable[Sample], hit_ratio_ok: float = HIT_RATIO_OK) -> list[DatabaseMemory]:
    sizes: dict[str, float] = defaultdict(float)
    hits: dict[str, float] = {}
    memory: float | None = None
    for sample in latest:
        if sample.metric == "postgres.database_size":
            sizes[sample.labels.get("server", "?")] += sample.value
        elif sample.metric == "postgres.cache_hit_ratio":
            hits[sample.labels.get("server", "?")] = sample.value
        elif sample.metric == "memory_total_bytes":
            memory = sample.value
    return [DatabaseMemory(server, size, memory, hits.get(server), hit_ratio_ok)
            for server, size in sorted(sizes.items())]
