"""The store interface: samples in, series out. SQLite is the default backend; a
PostgreSQL backend (shared by several hosts) implements the same interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..records import Finding, Sample


class StoreError(Exception):
    """The store cannot be opened or used; the message names the file or server."""


class StoreNotFound(StoreError):
    """There is no store yet where the settings point (nothing has been recorded)."""


@dataclass(frozen=True, slots=True)
class Point:
    """One step of a series: raw samples have min == max == avg == last and count 1."""

    time: float
    min: float
    max: float
    avg: float
    last: float
    count: int


@dataclass(frozen=True, slots=True)
class Series:
    metric: str
    labels: dict[str, str]
    unit: str
    step: float            # seconds per point (0 = raw)
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FindingSpan:
    """One finding as it was reported over time: open while `cleared` is None."""

    probe: str
    finding: Finding
    first_seen: float
    last_seen: float
    cleared: float | None = None


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One bucket written directly into a rollup tier (history imported from elsewhere).
    `span` is how many seconds it covers (a tier may hold rows coarser than itself)."""

    bucket_start: int
    span: int
    min: float
    max: float
    sum: float
    count: int
    last: float
    last_time: float


class Store(ABC):
    @abstractmethod
    def write_samples(self, samples: Sequence[Sample]) -> None: ...

    @abstractmethod
    def write_findings(self, probe: str, findings: Sequence[Finding], time: float) -> None:
        """Record the findings a probe reported at `time` (history of what was wrong)."""

    @abstractmethod
    def findings(self, since: float, until: float, probe: str | None = None) -> list[FindingSpan]:
        """Findings that were open at some moment between since and until, oldest first."""

    @abstractmethod
    def query(self, metric: str, since: float, until: float, step: float | None = None,
              labels: dict[str, str] | None = None) -> list[Series]:
        """Series of `metric` (optionally filtered by labels) between since and until.
        step=None picks the coarsest resolution that still gives enough points."""

    @abstractmethod
    def metrics(self) -> list[tuple[str, dict[str, str], str]]:
        """Every known series as (metric, labels, unit)."""

    @abstractmethod
    def latest(self) -> list[Sample]:
        """The newest sample of every series (for /metrics and the status page)."""

    @abstractmethod
    def maintain(self, now: float) -> None:
        """Roll raw samples up into coarser tables and drop what retention no longer keeps."""

    @abstractmethod
    def import_rollups(self, metric: str, labels: dict[str, str], unit: str,
                       rows: dict[str, Sequence[RollupRow]]) -> dict[str, int]:
        """Write imported history (tier name -> buckets) for one series in one transaction,
        only before the series' own samples and each tier's rolled_until (so maintain()
        never counts a bucket twice); existing buckets are kept. The span written is held:
        retention never prunes it. Returns the rows added per tier."""

    @abstractmethod
    def close(self) -> None: ...
