"""The probe seam: a small unit that reads one source and yields Samples and Findings.

A probe never mails, never writes the store and never decides policy beyond what its source
says. `run_probe` turns any failure or overrun into an UNKNOWN result with the reason, so one
bad probe never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from .records import Finding, Record, Sample, State, worst_state


class Probe:
    """Base class. Subclasses set `name` and implement `collect()` (blocking, run in a
    worker thread) or `collect_async()` (run on the loop)."""

    name: str = "probe"
    interval: float = 60.0
    timeout: float = 10.0

    def collect(self) -> Iterable[Record]:
        raise NotImplementedError

    async def collect_async(self) -> list[Record]:
        return await asyncio.to_thread(lambda: list(self.collect()))

    def wake_events(self) -> AsyncIterator[None] | None:
        """An async iterator that yields when the source changed (e.g. poll() on
        /proc/mdstat), so the agent runs the probe at once; None = interval only."""
        return None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    state: State
    reason: str
    samples: list[Sample] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    started: float = 0.0
    duration: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "state": self.state.label, "reason": self.reason}


def state_of(findings: list[Finding]) -> State:
    return worst_state([State.from_severity(f.severity) for f in findings])


async def run_probe(probe: Probe, clock: Callable[[], float] = time.time) -> ProbeResult:
    """Run one probe with its timeout; never raises for the probe's own failures."""
    now = clock()
    started = time.monotonic()
    try:
        async with asyncio.timeout(probe.timeout):
            records = await probe.collect_async()
    except TimeoutError:
        return ProbeResult(probe.name, State.UNKNOWN, f"timed out after {probe.timeout:g}s",
                           started=now, duration=time.monotonic() - started)
    except Exception as err:  # a probe's failure is data, not a crash of the agent
        return ProbeResult(probe.name, State.UNKNOWN, _describe(err),
                           started=now, duration=time.monotonic() - started)
    samples = [r for r in records if isinstance(r, Sample)]
    findings = [r for r in records if isinstance(r, Finding)]
    samples = [s if s.time is not None else _stamped(s, now) for s in samples]
    state = state_of(findings)
    reason = _summary(findings) if findings else "ok"
    return ProbeResult(probe.name, state, reason, samples, findings, now, time.monotonic() - started)


def _stamped(sample: Sample, now: float) -> Sample:
    return Sample(sample.metric, sample.value, sample.labels, sample.unit, now)


def _summary(findings: list[Finding]) -> str:
    worst = max(findings, key=lambda f: f.severity.rank)
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"{worst.subject}: {worst.message}{more}"


def _describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if not isinstance(err, OSError | ValueError) else text
