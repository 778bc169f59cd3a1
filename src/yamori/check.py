"""One pass of every probe, for `yamori check` (and anything else that wants a snapshot)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .catalog import build_probes
from .config import Settings
from .probe import ProbeResult, run_probe
from .records import Finding, Severity, State, worst_state


@dataclass(frozen=True, slots=True)
class CheckReport:
    results: list[ProbeResult]
    extra: list[tuple[str, Finding]]   # findings not from a probe (e.g. no notifier configured)

    @property
    def state(self) -> State:
        states = [r.state for r in self.results]
        states += [State.from_severity(f.severity) for _, f in self.extra]
        return worst_state(states)

    def as_json(self) -> dict[str, Any]:
        findings = [(r.name, f) for r in self.results for f in r.findings] + self.extra
        return {
            "state": self.state.label,
            "probes": [r.as_json() for r in self.results],
            "findings": [
                {"probe": probe, "severity": str(f.severity), "subject": f.subject, "message": f.message,
                 "advice": f.advice, "check": f.check, "file": f.file, "line": f.line}
                for probe, f in findings
            ],
        }


async def run_check(settings: Settings, only: list[str]) -> CheckReport:
    probes = build_probes(settings, only or None)
    results = list(await asyncio.gather(*(run_probe(p) for p in probes)))
    extra: list[tuple[str, Finding]] = []
    if not only:
        unconfigured = notifier_finding(settings)
        if unconfigured:
            extra.append(("notify", unconfigured))
    return CheckReport(results, extra)


def notifier_finding(settings: Settings) -> Finding | None:
    """An alert nobody receives is the incident itself (a RAID member failed; nobody knew)."""
    alerts = settings.alerts
    if alerts.email.to or alerts.webhook.url:
        return None
    from .alerts.status import NOT_CONFIGURED

    message, _, advice = NOT_CONFIGURED.partition(" — ")
    return Finding("notify.unconfigured", Severity.WARNING, "notifiers", message, advice)
