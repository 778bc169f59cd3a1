"""Guided failover, asking the servers: the target standby's replication state, and every
other configured server, on its own, whether it is a primary (`plan` turns the answers into a
plan). A server that answers is asked `pg_is_in_recovery()` by itself: a failing statistics
query never hides a primary."""

from __future__ import annotations

from dataclasses import dataclass

from ...config.postgres import PostgresSettings, ServerEntry
from ..db import Row, Unreachable, one, reason
from .fence import connect_exempt, is_fence_refusal

TARGET_SQL = """
SELECT pg_is_in_recovery() AS in_recovery,
       pg_last_wal_receive_lsn()::text AS receive_lsn, pg_last_wal_replay_lsn()::text AS replay_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused,
       -- seconds since the standby last replayed: 0 while it streams and has replayed all it received
       CASE WHEN (SELECT status FROM pg_stat_wal_receiver) = 'streaming'
                 AND pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS replay_age,
       (SELECT status FROM pg_stat_wal_receiver) AS receiver_status,
       (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver) AS sender
"""
ROLE_SQL = "SELECT pg_is_in_recovery() AS in_recovery"
PRIMARY_SQL = "SELECT pg_current_wal_lsn()::text AS lsn, current_setting('is_superuser') AS superuser"


class FailoverError(Exception):
    """The request itself is wrong (unknown target name, nothing configured)."""


@dataclass(frozen=True, slots=True)
class TargetCheck:
    name: str
    error: str | None = None
    in_recovery: bool | None = None
    receiver_status: str | None = None
    sender: str | None = None
    receive_lsn: str | None = None
    replay_lsn: str | None = None
    replay_age_seconds: float | None = None
    paused: bool = False


@dataclass(frozen=True, slots=True)
class PeerCheck:
    """Another configured server, asked only what failover must know: is it a primary?"""

    name: str
    error: str | None = None  # why it could not be reached, or why it could not say
    connected: bool = False  # it answered (with `error`: but could not say whether it is a primary)
    in_recovery: bool | None = None
    lsn: str | None = None  # pg_current_wal_lsn() of a primary
    superuser: bool = False  # yamori's role there can fence it
    fenced: bool = False  # refused us with yamori's own fence (an earlier run)

    @property
    def reachable(self) -> bool:
        return self.connected

    @property
    def role(self) -> str | None:
        if self.in_recovery is None:
            return None
        return "standby" if self.in_recovery else "primary"


def lsn_bytes(lsn: str) -> int:
    """'16/B374D848' -> byte position (PostgreSQL's pg_lsn text form)."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def server_entry(settings: PostgresSettings, name: str) -> ServerEntry:
    """The target must be a configured server, named exactly (no prefix or case folding)."""
    for entry in settings.servers:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in settings.servers) or "none configured"
    raise FailoverError(f"no [[postgres.servers]] named {name!r} (configured: {known})")


def read_target(entry: ServerEntry, settings: PostgresSettings) -> TargetCheck:
    import psycopg

    try:
        with connect_exempt(entry.dsn, settings.connect_timeout) as conn:
            return interpret_target(entry.name, one(conn, TARGET_SQL))
    except (Unreachable, psycopg.Error) as err:
        return TargetCheck(entry.name, error=reason(err))


def interpret_target(name: str, row: Row) -> TargetCheck:
    return TargetCheck(name, None, bool(row.get("in_recovery")), row.get("receiver_status"), row.get("sender"),
                       row.get("receive_lsn"), row.get("replay_lsn"),
                       None if row.get("replay_age") is None else float(row["replay_age"]), bool(row.get("paused")))


def read_peer(entry: ServerEntry, settings: PostgresSettings) -> PeerCheck:
    """pg_is_in_recovery() on its own (nothing else can make the answer unknown), then for a
    primary its WAL position and whether yamori's role can fence it, separately."""
    import psycopg

    try:
        conn = connect_exempt(entry.dsn, settings.connect_timeout)
    except Unreachable as err:
        return PeerCheck(entry.name, str(err), fenced=is_fence_refusal(str(err)))
    with conn:
        try:
            role = one(conn, ROLE_SQL)
        except psycopg.Error as err:
            return PeerCheck(entry.name, reason(err), connected=True)
        if "in_recovery" not in role or role["in_recovery"] is None:
            return PeerCheck(entry.name, "pg_is_in_recovery() returned nothing", connected=True)
        if role["in_recovery"]:
            return PeerCheck(entry.name, None, True, True)
        try:
            primary = one(conn, PRIMARY_SQL)
        except psycopg.Error:  # the role is known; position and privileges stay unknown
            return PeerCheck(entry.name, None, True, False)
        return PeerCheck(entry.name, None, True, False, primary.get("lsn"), primary.get("superuser") == "on")
