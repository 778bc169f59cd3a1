"""What the web server may see of the agent: one small record, handed over explicitly.

The web package never imports the agent; the agent builds a WebView and passes it in. The
mappings are the agent's own (read-only here); the callables carry out the few actions."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..records import Finding, Sample

if TYPE_CHECKING:
    from ..probe import ProbeResult
    from ..store.base import Store

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecentEvent:
    time: float
    source: str
    finding: Finding


BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DurationHistogram:
    """How long each probe's runs took, as cumulative Prometheus buckets."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, probe: str, seconds: float) -> None:
        counts = self.counts.setdefault(probe, [0] * (len(BUCKETS) + 1))
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        counts[-1] += 1
        self.sums[probe] = self.sums.get(probe, 0.0) + max(seconds, 0.0)


@dataclass
class WebView:
    hostname: str
    started: float
    clock: Callable[[], float]
    results: Mapping[str, ProbeResult]
    service_samples: Mapping[str, list[Sample]]
    services: Sequence[str]
    alerts: Callable[[], list[dict[str, Any]]]
    delivery: Callable[[], Any]   # an alerts.status.DeliveryStatus
    in_store: Callable[[Callable[[Store], Any]], Awaitable[Any]]
    bans: Callable[[], dict[str, dict[str, float]]]
    unban: Callable[[str], Awaitable[bool]]
    run_audit: Callable[[], Awaitable[list[Finding]]]
    raid_arrays: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None
    thresholds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    equipment_class: str = "A1"     # [environment] class: the allowable envelope the chart draws
    events: deque[RecentEvent] = field(default_factory=lambda: deque(maxlen=200))
    # (rule, subject, who) -> whether that alert was active and is now acknowledged
    acknowledge: Callable[[str, str, str], bool] = lambda rule, subject, who: False
    durations: DurationHistogram = field(default_factory=lambda: DurationHistogram())
    audit_findings: list[Finding] | None = None
    audit_ran_at: float | None = None
