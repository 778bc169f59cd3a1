"""Look at one configured server once: reachable or why not, its statistics and replication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.postgres import PostgresSettings, ServerEntry
from ..records import Finding, Severity
from .db import Unreachable, connect, one, reason
from .replication import Replication, read_replication, replicas_json, replication_findings, slots_json
from .stats import ServerStats, as_json, read_server, server_findings


@dataclass(frozen=True, slots=True)
class ServerReport:
    name: str
    error: str | None = None
    stats: ServerStats | None = None
    replication: Replication | None = None
    connected: bool = False  # True with an error: we got in, but a query failed (privileges?)
    known_role: str | None = None  # asked on its own when the statistics failed

    @property
    def reachable(self) -> bool:
        return self.error is None or self.connected

    @property
    def role(self) -> str | None:
        return self.stats.role if self.stats else self.known_role


def inspect_server(entry: ServerEntry, settings: PostgresSettings) -> ServerReport:
    """Never raises for the server's own failures: they become `error` (libpq's reason)."""
    import psycopg

    th = settings.thresholds
    try:
        conn = connect(entry.dsn, timeout=settings.connect_timeout)
    except Unreachable as err:
        return ServerReport(entry.name, str(err))
    try:
        with conn:
            try:
                stats = read_server(conn, min_seconds=min(th.long_running, th.idle_in_transaction))
                return ServerReport(entry.name, None, stats, read_replication(conn, stats.role), connected=True)
            except psycopg.Error as err:  # e.g. permission denied on a view, or the server went away mid-way
                # a failing statistics query must not hide whether this is a primary: ask that alone
                return ServerReport(entry.name, reason(err), connected=not conn.broken, known_role=_role(conn))
    except psycopg.Error as err:
        return ServerReport(entry.name, reason(err), connected=not conn.broken)


def _role(conn: Any) -> str | None:
    import psycopg

    if conn.broken:
        return None
    try:
        row = one(conn, "SELECT pg_is_in_recovery() AS r")
    except psycopg.Error:
        return None
    return None if row.get("r") is None else ("standby" if row["r"] else "primary")


def report_findings(report: ServerReport, settings: PostgresSettings, ram_bytes: int | None,
                    expected: set[str] | None = None) -> list[Finding]:
    if report.error is not None and report.connected:
        return [Finding("postgres.query_failed", Severity.WARNING, report.name,
                        f"connected, but reading the statistics failed: {report.error}",
                        "GRANT pg_monitor TO the role yamori connects as")]
    if report.error is not None:
        return [Finding("postgres.unreachable", Severity.CRITICAL, report.name,
                        f"cannot connect: {report.error}",
                        "is the server running and listening, does pg_hba.conf allow yamori, "
                        "is the password in .pgpass?")]
    assert report.stats is not None and report.replication is not None
    th = settings.thresholds
    found = server_findings(report.name, report.stats, th, ram_bytes)
    wanted = set(settings.expect_standbys) | (expected or set()) if report.role == "primary" else set()
    return found + replication_findings(report.name, report.replication, th, wanted)


def report_json(report: ServerReport) -> dict[str, Any]:
    repl = report.replication
    receiver = repl.receiver if repl else None
    return {
        "name": report.name,
        "reachable": report.reachable,
        "error": report.error,
        "role": report.role,
        "replay_lag_bytes": receiver.replay_lag_bytes if receiver else None,
        "replay_delay_seconds": receiver.replay_delay_seconds if receiver else None,
        "receiver_status": receiver.status if receiver else None,
        "position": repl.position if repl else None,
        "replication": replicas_json(repl) if repl else [],
        "slots": slots_json(repl) if repl else [],
        "stats": as_json(report.stats) if report.stats else None,
    }
