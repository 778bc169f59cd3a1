"""One PostgreSQL server's health: what we read (`read_server`) and what it means
(`server_findings`, `server_samples`), kept apart so the meaning is tested on plain rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config.postgres import Thresholds
from ..records import Finding, Sample, Severity
from .db import Row, one, rows

if TYPE_CHECKING:
    import psycopg

# A fresh server has read little yet: its hit ratio says nothing about the working set.
MIN_BLOCK_ACCESSES = 100_000

# Counters whose per-second rate is worth graphing (all from pg_stat_database / bgwriter / WAL).
RATE_COUNTERS = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted",
                 "tup_updated", "tup_deleted", "deadlocks", "temp_files", "temp_bytes", "wal_bytes",
                 "checkpoints_timed", "checkpoints_req")


@dataclass(frozen=True, slots=True)
class Session:
    pid: int
    user: str
    database: str
    state: str
    seconds: float
    query: str


@dataclass(frozen=True, slots=True)
class Statement:
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    query: str


@dataclass(frozen=True, slots=True)
class ServerStats:
    role: str
    version: str
    connections: int
    max_connections: int
    databases: dict[str, int]
    counters: dict[str, int]
    xid_age: int
    sessions: list[Session] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)

    @property
    def cache_hit_ratio(self) -> float | None:
        hit, read = self.counters.get("blks_hit", 0), self.counters.get("blks_read", 0)
        return hit / (hit + read) if hit + read >= MIN_BLOCK_ACCESSES else None


SERVER_SQL = """
SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END AS role,
       current_setting('server_version') AS version,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
       current_setting('max_connections')::int AS max_connections,
       (SELECT max(age(datfrozenxid)) FROM pg_database) AS xid_age,
       CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(coalesce(pg_last_wal_replay_lsn(), '0/0'), '0/0')
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END::bigint AS wal_bytes
"""
DATABASE_SQL = """
SELECT d.datname, pg_database_size(d.oid) AS size, s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit,
       s.tup_returned, s.tup_fetched, s.tup_inserted, s.tup_updated, s.tup_deleted, s.deadlocks,
       s.temp_files, s.temp_bytes
FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
WHERE d.datallowconn AND NOT d.datistemplate AND has_database_privilege(d.oid, 'CONNECT')
"""
BGWRITER_SQL = "SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter"
SESSIONS_SQL = """
SELECT pid, coalesce(usename, '') AS usename, coalesce(datname, '') AS datname, state,
       extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END)::float8
         AS seconds,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
"""
STATEMENTS_SQL = """
SELECT calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows, left(query, 200) AS query
FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 5
"""


def read_server(conn: psycopg.Connection[Row], *, min_seconds: float) -> ServerStats:
    """All the statistics one probe run needs, in a handful of queries."""
    head = one(conn, SERVER_SQL)
    dbs = rows(conn, DATABASE_SQL)
    bgwriter = one(conn, BGWRITER_SQL)
    sessions = [r for r in rows(conn, SESSIONS_SQL) if (r["seconds"] or 0) >= min_seconds]
    statements = rows(conn, STATEMENTS_SQL) if _has_statements(conn) else []
    return interpret_server(head, dbs, bgwriter, sessions, statements)


def _has_statements(conn: psycopg.Connection[Row]) -> bool:
    return bool(one(conn, "SELECT 1 AS x FROM pg_extension WHERE extname = 'pg_stat_statements'"))


def interpret_server(head: Row, dbs: list[Row], bgwriter: Row, sessions: list[Row],
                     statements: list[Row]) -> ServerStats:
    """Rows from the queries above -> one record (no I/O)."""
    counters: dict[str, int] = {}
    for db in dbs:
        for key, value in db.items():
            if key not in ("datname", "size") and value is not None:
                counters[key] = counters.get(key, 0) + int(value)
    counters["wal_bytes"] = int(head.get("wal_bytes") or 0)
    for key in ("checkpoints_timed", "checkpoints_req"):
        counters[key] = int(bgwriter.get(key) or 0)
    return ServerStats(
        role=str(head["role"]), version=str(head.get("version") or ""),
        connections=int(head.get("connections") or 0), max_connections=int(head.get("max_connections") or 0),
        databases={str(db["datname"]): int(db["size"] or 0) for db in dbs},
        counters=counters, xid_age=int(head.get("xid_age") or 0),
        sessions=[Session(int(r["pid"]), str(r["usename"]), str(r["datname"]), str(r["state"]),
                          float(r["seconds"] or 0), _printable(r.get("query") or "")) for r in sessions],
        statements=[Statement(int(r["calls"]), float(r["total_ms"]), float(r["mean_ms"]), int(r["rows"]),
                              _printable(r.get("query") or "")) for r in statements],
    )


def _printable(text: str, limit: int = 120) -> str:
    """Query text is written by clients: show it on one line, without control characters."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def server_findings(name: str, stats: ServerStats, th: Thresholds, ram_bytes: int | None) -> list[Finding]:
    found: list[Finding] = []
    if stats.max_connections and stats.connections >= stats.max_connections * th.connections_warning_percent / 100:
        found.append(Finding("postgres.connections", Severity.WARNING, name,
                             f"{stats.connections} of max_connections={stats.max_connections} in use",
                             "find who holds connections (pg_stat_activity); a pooler (pgpool/pgbouncer) "
                             "or a higher max_connections"))
    found += _memory_findings(name, stats, th, ram_bytes)
    found += _xid_findings(name, stats, th)
    found += _session_findings(name, stats, th)
    return found


def _memory_findings(name: str, stats: ServerStats, th: Thresholds, ram_bytes: int | None) -> list[Finding]:
    found: list[Finding] = []
    total = sum(stats.databases.values())
    ratio = stats.cache_hit_ratio
    too_big = ram_bytes is not None and total > ram_bytes
    if ratio is not None and ratio < th.cache_hit_warning:
        size_note = f"; databases total {_size(total)} vs RAM {_size(ram_bytes)}" if ram_bytes else ""
        found.append(Finding("postgres.cache_hit", Severity.WARNING, name,
                             f"buffer cache hit ratio {ratio:.1%} (< {th.cache_hit_warning:.0%}): the working "
                             f"set no longer fits in memory{size_note}",
                             "add RAM or shared_buffers, or find the queries reading the most "
                             "(pg_stat_statements, `yamori pg status`)"))
    elif too_big:
        found.append(Finding("postgres.size_vs_ram", Severity.INFO, name,
                             f"databases total {_size(total)}, more than RAM {_size(ram_bytes)}",
                             "fine while the hot part fits; watch the buffer cache hit ratio"))
    return found


def _xid_findings(name: str, stats: ServerStats, th: Thresholds) -> list[Finding]:
    if stats.xid_age >= th.xid_age_warning:
        severity = Severity.CRITICAL if stats.xid_age >= th.xid_age_critical else Severity.WARNING
        return [Finding("postgres.xid_wraparound", severity, name,
                        f"oldest datfrozenxid age {stats.xid_age:,} (wraparound stops writes at ~2.1 billion)",
                        "run VACUUM (FREEZE) on the oldest database; look for long transactions and "
                        "abandoned replication slots or prepared transactions")]
    return []


def _session_findings(name: str, stats: ServerStats, th: Thresholds) -> list[Finding]:
    found: list[Finding] = []
    for s in stats.sessions:
        idle = s.state.startswith("idle in transaction")
        limit = th.idle_in_transaction if idle else th.long_running
        if s.seconds < limit:
            continue
        what = "idle in transaction" if idle else "running"
        check = "postgres.idle_in_transaction" if idle else "postgres.long_running"
        found.append(Finding(check, Severity.WARNING, f"{name} pid {s.pid}",
                             f"{s.user}@{s.database} {what} for {s.seconds:.0f}s: {s.query}",
                             "it holds locks and blocks VACUUM; fix the application, or "
                             f"SELECT pg_terminate_backend({s.pid})"))
    return found


def delta_findings(name: str, before: ServerStats, after: ServerStats) -> list[Finding]:
    """What happened between two runs: deadlocks, spills to temp files, forced checkpoints."""
    delta = {key: after.counters.get(key, 0) - before.counters.get(key, 0) for key in RATE_COUNTERS}
    if any(value < 0 for value in delta.values()):
        return []  # statistics were reset or the server restarted: no honest delta this round
    found: list[Finding] = []
    if delta["deadlocks"]:
        found.append(Finding("postgres.deadlocks", Severity.WARNING, name,
                             f"{delta['deadlocks']} deadlock(s) since the last check",
                             "the server log has both statements (log_lock_waits = on helps); make the "
                             "application take locks in one order"))
    if delta["temp_files"]:
        found.append(Finding("postgres.temp_files", Severity.INFO, name,
                             f"{delta['temp_files']} temporary file(s), {_size(delta['temp_bytes'])}, since the "
                             "last check: sorts or hashes spilled to disk",
                             "log_temp_files = 0 names the queries; raise work_mem for them"))
    if delta["checkpoints_req"] >= 2 and delta["checkpoints_req"] > delta["checkpoints_timed"]:
        found.append(Finding("postgres.checkpoints_forced", Severity.WARNING, name,
                             f"{delta['checkpoints_req']} checkpoints forced by WAL volume vs "
                             f"{delta['checkpoints_timed']} timed since the last check",
                             "raise max_wal_size so checkpoints come from checkpoint_timeout"))
    return found


def server_samples(name: str, stats: ServerStats, previous: ServerStats | None, elapsed: float) -> list[Sample]:
    labels = {"server": name}
    out = [Sample("postgres.connections", stats.connections, labels),
           Sample("postgres.max_connections", stats.max_connections, labels),
           Sample("postgres.xid_age", stats.xid_age, labels)]
    out += [Sample("postgres.database_size", size, {**labels, "database": db}, "bytes")
            for db, size in stats.databases.items()]
    if stats.cache_hit_ratio is not None:
        out.append(Sample("postgres.cache_hit_ratio", stats.cache_hit_ratio, labels, "ratio"))
    if previous is not None and elapsed > 0:
        out += [Sample(f"postgres.{key}_rate", value, labels, "per_second")
                for key, value in rates(previous.counters, stats.counters, elapsed).items()]
    return out


def rates(before: dict[str, int], after: dict[str, int], elapsed: float) -> dict[str, float]:
    """Per-second deltas; a counter that went down (stats reset, restart) has no rate this round."""
    return {key: (after[key] - before[key]) / elapsed for key in RATE_COUNTERS
            if key in after and key in before and after[key] >= before[key]}


def _size(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def as_json(stats: ServerStats) -> dict[str, Any]:
    totals = {key: stats.counters.get(key) for key in ("deadlocks", "temp_files", "temp_bytes", "checkpoints_timed",
                                                       "checkpoints_req", "wal_bytes")}
    return {"version": stats.version, "connections": stats.connections, "max_connections": stats.max_connections,
            "databases": stats.databases, "cache_hit_ratio": stats.cache_hit_ratio, "xid_age": stats.xid_age,
            "totals": totals,
            "top_statements": [{"calls": s.calls, "total_ms": round(s.total_ms, 3), "mean_ms": round(s.mean_ms, 3),
                                "rows": s.rows, "query": s.query} for s in stats.statements]}
