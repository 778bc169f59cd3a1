"""The agent's PostgreSQL probes: one per configured server, plus pgpool and backups."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ..config import Settings
from ..config.postgres import PostgresSettings, ServerEntry
from ..probe import Probe
from ..records import Record, Sample
from .inspect import ServerReport, inspect_server, report_findings
from .replication import replication_samples
from .stats import delta_findings, server_samples


def ram_bytes(proc: Path = Path("/proc")) -> int | None:
    """This host's memory from <proc>/meminfo (the [agent] proc root), None when unreadable."""
    from ..system.procfs import parse_meminfo

    try:
        return parse_meminfo((proc / "meminfo").read_text(encoding="utf-8", errors="replace"))["MemTotal"]
    except (OSError, ValueError):
        return None


class ServerProbe(Probe):
    """`postgres.<name>`: role, load, memory fit, sessions, replication and slots of one server.

    It remembers the previous run for rates, and which standbys it has seen streaming, so a
    standby that vanishes from pg_stat_replication is reported as disconnected."""

    def __init__(self, entry: ServerEntry, settings: PostgresSettings, proc: Path = Path("/proc")) -> None:
        self.entry = entry
        self.settings = settings
        self.proc = proc
        self.name = f"postgres.{entry.name}"
        self.interval = settings.interval
        self.timeout = float(settings.connect_timeout * 2 + 10)
        self._previous: tuple[float, ServerReport] | None = None
        self._seen_standbys: set[str] = set()

    def collect(self) -> Iterable[Record]:
        now = time.monotonic()
        report = inspect_server(self.entry, self.settings)
        records: list[Record] = [Sample("postgres.up", 1.0 if report.reachable else 0.0,
                                        {"server": self.entry.name})]
        records += report_findings(report, self.settings, ram_bytes(self.proc), self._seen_standbys)
        if report.stats is not None and report.replication is not None:
            before = self._previous
            prev_stats = before[1].stats if before and before[1].role == report.role else None
            records += server_samples(self.entry.name, report.stats, prev_stats, now - before[0] if before else 0)
            if prev_stats is not None:
                records += delta_findings(self.entry.name, prev_stats, report.stats)
            records += replication_samples(self.entry.name, report.replication)
            if report.role == "primary":
                self._seen_standbys |= {r.application_name for r in report.replication.replicas}
            else:
                self._seen_standbys.clear()  # a standby (or a demoted primary) expects nobody
            self._previous = (now, report)
        return records


def probes(settings: Settings) -> list[Probe]:
    pg = settings.postgres
    found: list[Probe] = [ServerProbe(entry, pg, Path(settings.agent.proc)) for entry in pg.servers]
    if pg.pgpool is not None:
        from .pgpool import PgpoolProbe
        found.append(PgpoolProbe(pg))
    if pg.backups:
        from .backups import BackupsProbe
        found.append(BackupsProbe(pg))
    return found
