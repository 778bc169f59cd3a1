"""pgpool-II: each backend's status through `SHOW POOL_NODES`, and PCP detach for failover.

Only psycopg reads SHOW POOL_NODES correctly (asyncpg fails on it, STACK.md §3.6). pgpool
4.3 returns 14 columns; older releases fewer, so every column but node_id/hostname/port/status
is optional here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..config.postgres import PgpoolSettings, PostgresSettings
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .db import Row, Unreachable, connect, reason, rows

# pgpool's own words for a backend it no longer sends queries to.
DOWN_STATUSES = frozenset({"down", "quarantine"})


@dataclass(frozen=True, slots=True)
class PoolNode:
    node_id: int
    hostname: str
    port: int
    status: str  # pgpool's view: up, waiting, down, quarantine, unused
    pg_status: str | None  # what pgpool last saw of the server itself (4.3+)
    role: str | None  # primary/standby (streaming) or main/replica (native replication)
    pg_role: str | None
    replication_delay: str | None
    replication_state: str | None
    replication_sync_state: str | None
    last_status_change: str | None

    @property
    def down(self) -> bool:
        return self.status in DOWN_STATUSES or self.pg_status == "down"


def parse_pool_nodes(result: list[Row]) -> list[PoolNode]:
    """SHOW POOL_NODES rows (column name -> text) -> nodes."""
    def text(row: Row, key: str) -> str | None:
        value = row.get(key)
        return None if value in (None, "") else str(value)

    return [PoolNode(int(r["node_id"]), str(r["hostname"]), int(r["port"]), str(r["status"]).lower(),
                     (text(r, "pg_status") or "").lower() or None, text(r, "role"), text(r, "pg_role"),
                     text(r, "replication_delay"), text(r, "replication_state"),
                     text(r, "replication_sync_state"), text(r, "last_status_change")) for r in result]


def read_pool_nodes(dsn: str, timeout: int = 5) -> list[PoolNode]:
    import psycopg

    try:
        with connect(dsn, timeout=timeout) as conn:
            return parse_pool_nodes(rows(conn, "SHOW POOL_NODES"))
    except psycopg.Error as err:
        raise Unreachable(reason(err)) from err


def pool_findings(nodes: list[PoolNode], delay_warning: int) -> list[Finding]:
    found: list[Finding] = []
    for n in nodes:
        subject = f"pgpool node {n.node_id} ({n.hostname}:{n.port})"
        if n.down:
            found.append(Finding("pgpool.backend_down", Severity.CRITICAL, subject,
                                 f"backend is {n.status} (server {n.pg_status or 'unknown'}): the pool runs "
                                 "without its redundancy",
                                 "fix the server, resynchronise it (online recovery or rebuild), then "
                                 f"pcp_attach_node -n {n.node_id}"))
        elif n.replication_delay and n.replication_delay.isdigit() and int(n.replication_delay) >= delay_warning:
            found.append(Finding("pgpool.replication_delay", Severity.WARNING, subject,
                                 f"replication delay {int(n.replication_delay):,} behind the primary",
                                 "pgpool may stop load-balancing to it; see `yamori pg status`"))
    return found


def nodes_json(nodes: list[PoolNode]) -> list[dict[str, Any]]:
    return [{**asdict(n), "down": n.down} for n in nodes]


def find_node(nodes: list[PoolNode], host: str | None, port: int | None) -> PoolNode | None:
    return next((n for n in nodes if n.hostname == host and n.port == port), None)


def detach_command(pgpool: PgpoolSettings, node_id: int) -> list[str]:
    """pcp_detach_node; the PCP password comes from PCPPASSFILE/~/.pcppass (-w: never prompt)."""
    return ["pcp_detach_node", "-h", pgpool.pcp_host or "localhost", "-p", str(pgpool.pcp_port),
            "-U", pgpool.pcp_user, "-w", "-n", str(node_id)]


def run_pcp(command: list[str], timeout: float = 30) -> tuple[bool, str]:
    exe = shutil.which(command[0]) or shutil.which(command[0], path="/usr/sbin:/usr/bin")
    if exe is None:
        return False, f"{command[0]} not found (apt-get install pgpool2)"
    try:
        done = subprocess.run([exe, *command[1:]], capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ))
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, str(err)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


class PgpoolProbe(Probe):
    name = "postgres.pgpool"

    def __init__(self, settings: PostgresSettings) -> None:
        assert settings.pgpool is not None
        self.pgpool = settings.pgpool
        self.settings = settings
        self.interval = settings.interval
        self.timeout = float(settings.connect_timeout * 2 + 5)

    def collect(self) -> Iterable[Record]:
        try:
            nodes = read_pool_nodes(self.pgpool.dsn, self.settings.connect_timeout)
        except Unreachable as err:
            return [Finding("pgpool.unreachable", Severity.CRITICAL, "pgpool", f"cannot query pgpool: {err}",
                            "is pgpool running? does it reach its backends (trust or pool_passwd)?")]
        records: list[Record] = [Sample("pgpool.node_up", 0.0 if n.down else 1.0, {"node": str(n.node_id)})
                                 for n in nodes]
        return records + pool_findings(nodes, self.settings.thresholds.lag_warning_bytes)
