"""`yamori pg status`: every server, its replication, the pgpool view and backup ages, at once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.postgres import PostgresSettings
from ..records import Finding, Severity, State, worst_state
from .backups import backup_findings, backup_json, scan_backups
from .inspect import ServerReport, inspect_server, report_findings, report_json
from .pgpool import PoolNode, Unreachable, nodes_json, pool_findings, read_pool_nodes
from .probe import ram_bytes


@dataclass(frozen=True, slots=True)
class PgStatus:
    servers: list[ServerReport]
    pool: list[PoolNode] | None
    pool_error: str | None
    backups: list[dict[str, Any]]
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (probe name, finding)

    @property
    def state(self) -> State:
        return worst_state([State.from_severity(f.severity) for _, f in self.findings])

    def as_json(self) -> dict[str, Any]:
        return {
            "servers": [report_json(r) for r in self.servers],
            "pgpool": nodes_json(self.pool or []),
            "pgpool_error": self.pool_error,
            "backups": self.backups,
            "findings": [finding_json(probe, f) for probe, f in self.findings],
            "state": self.state.label,
        }


def finding_json(probe: str, finding: Finding) -> dict[str, Any]:
    return {"probe": probe, **finding.as_json()}


def gather_status(settings: PostgresSettings, now: float | None = None, proc: Path = Path("/proc")) -> PgStatus:
    now = time.time() if now is None else now
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(settings.servers)))) as pool:
        reports = list(pool.map(lambda e: inspect_server(e, settings), settings.servers))
    ram = ram_bytes(proc)
    findings = [(f"postgres.{r.name}", f) for r in reports for f in report_findings(r, settings, ram)]
    nodes, pool_error = None, None
    if settings.pgpool is not None:
        try:
            nodes = read_pool_nodes(settings.pgpool.dsn, settings.connect_timeout)
            findings += [("postgres.pgpool", f) for f in pool_findings(nodes, settings.thresholds.lag_warning_bytes)]
        except Unreachable as err:
            pool_error = str(err)
            findings.append(("postgres.pgpool", Finding("pgpool.unreachable", Severity.CRITICAL, "pgpool",
                                                        f"cannot query pgpool: {err}", "is pgpool running?")))
    backups: list[dict[str, Any]] = []
    for entry in settings.backups:
        report = scan_backups(entry)
        backups.append(backup_json(report, now))
        findings += [("postgres.backups", f) for f in backup_findings(report, entry, now)]
    return PgStatus(reports, nodes, pool_error, backups, findings)
