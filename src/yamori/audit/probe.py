"""The audit as an agent probe: re-run periodically; the alert engine alerts on each new
(check, subject), which is configuration drift. Subjects are file:line plus rule text, so an
unchanged finding keeps its identity from one run to the next."""

from __future__ import annotations

from collections.abc import Iterable

from ..config import Settings
from ..probe import Probe
from ..records import Finding, Record, Severity
from .runner import AuditRequest, AuditUsageError, run_audit


class AuditProbe(Probe):
    name = "audit"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.interval = settings.audit.interval
        # Loading an nft file in a namespace and querying the server takes seconds, not minutes.
        self.timeout = 120.0

    def collect(self) -> Iterable[Record]:
        try:
            return list(run_audit(self.settings, AuditRequest.from_settings(self.settings)))
        except AuditUsageError as err:
            return [Finding("audit.config", Severity.WARNING, "[audit]", str(err),
                            "Fix [audit] host in the config to name an [[inventory.hosts]] entry.")]


def probes(settings: Settings) -> list[Probe]:
    return [AuditProbe(settings)] if settings.audit.enabled else []
