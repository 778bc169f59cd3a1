"""The service seam: long-running watchers (the guard's log tailer, live neighbour events)
that report as they go, unlike probes which the scheduler calls on an interval."""

from __future__ import annotations

from typing import Protocol

from .records import Finding, Sample


class Sink(Protocol):
    """Where a service reports. Implemented by the agent (store + alerts) and by tests."""

    def samples(self, service: str, samples: list[Sample]) -> None:
        """Measurements, stored like a probe's."""

    def event(self, service: str, finding: Finding) -> None:
        """A one-shot finding (e.g. an auth failure from an unexpected private source):
        alerted at once, de-duplicated per (check, subject) within the repeat interval."""

    def state(self, service: str, findings: list[Finding]) -> None:
        """The service's current standing findings (like a probe result): alert on change."""

    def report(self, service: str, check: str, subject: str, text: str) -> None:
        """A periodic report for the operator (e.g. the guard's daily digest), mailed as is."""


class Service(Protocol):
    name: str

    async def run(self, sink: Sink) -> None:
        """Run until cancelled. Must not raise for bad input; report it as findings."""
