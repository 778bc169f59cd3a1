"""Streaming replication seen from both ends, and replication slots.

`read_replication` runs the queries; everything else turns rows into records and findings
without I/O. Lags are in bytes of WAL (exact) and seconds (PostgreSQL's own estimate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..config.postgres import Thresholds
from ..records import Finding, Sample, Severity
from .db import Row, one, rows

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, slots=True)
class Replica:
    """One row of pg_stat_replication on a primary."""

    application_name: str
    client_addr: str | None
    state: str
    sync_state: str
    write_lag_bytes: int | None
    flush_lag_bytes: int | None
    replay_lag_bytes: int | None
    write_lag_seconds: float | None
    flush_lag_seconds: float | None
    replay_lag_seconds: float | None


@dataclass(frozen=True, slots=True)
class Receiver:
    """A standby's view: pg_stat_wal_receiver plus its replay position."""

    status: str | None  # None: no WAL receiver process at all (not connected to a primary)
    sender: str | None
    receive_lsn: str | None
    replay_lsn: str | None
    replay_lag_bytes: int | None
    replay_delay_seconds: float | None
    replay_paused: bool


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    slot_type: str
    active: bool
    wal_status: str | None
    retained_bytes: int | None


@dataclass(frozen=True, slots=True)
class Replication:
    position: str | None  # current WAL LSN (primary) or last replayed LSN (standby)
    replicas: list[Replica]
    receiver: Receiver | None
    slots: list[Slot]


REPLICAS_SQL = """
SELECT application_name, host(client_addr) AS client_addr, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::bigint AS write_lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::bigint AS flush_lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes,
       extract(epoch FROM write_lag)::float8 AS write_lag_seconds,
       extract(epoch FROM flush_lag)::float8 AS flush_lag_seconds,
       extract(epoch FROM replay_lag)::float8 AS replay_lag_seconds
FROM pg_stat_replication ORDER BY application_name
"""
RECEIVER_SQL = """
SELECT r.status, r.sender_host || ':' || r.sender_port AS sender,
       pg_last_wal_receive_lsn()::text AS receive_lsn, pg_last_wal_replay_lsn()::text AS replay_lsn,
       greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()))::bigint
         AS replay_lag_bytes,
       -- after a restart the receive position can trail replay; an idle standby has no delay
       CASE WHEN coalesce(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), true) THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS replay_delay_seconds,
       pg_is_wal_replay_paused() AS replay_paused
FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver r ON true
"""
SLOTS_SQL = """
SELECT slot_name, slot_type, active, wal_status,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       restart_lsn)::bigint AS retained_bytes
FROM pg_replication_slots ORDER BY slot_name
"""
POSITION_SQL = """
SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text AS lsn
"""


def read_replication(conn: psycopg.Connection[Row], role: str) -> Replication:
    position = one(conn, POSITION_SQL).get("lsn")
    replicas = rows(conn, REPLICAS_SQL) if role == "primary" else []
    receiver = one(conn, RECEIVER_SQL) if role == "standby" else None
    return interpret_replication(position, replicas, receiver, rows(conn, SLOTS_SQL))


def interpret_replication(position: str | None, replicas: list[Row], receiver: Row | None,
                          slots: list[Row]) -> Replication:
    return Replication(
        position=position,
        replicas=[Replica(str(r["application_name"] or ""), r.get("client_addr"), str(r["state"] or ""),
                          str(r["sync_state"] or ""), _int(r.get("write_lag_bytes")),
                          _int(r.get("flush_lag_bytes")), _int(r.get("replay_lag_bytes")),
                          _float(r.get("write_lag_seconds")), _float(r.get("flush_lag_seconds")),
                          _float(r.get("replay_lag_seconds"))) for r in replicas],
        receiver=None if receiver is None else Receiver(
            receiver.get("status"), receiver.get("sender"), receiver.get("receive_lsn"),
            receiver.get("replay_lsn"), _int(receiver.get("replay_lag_bytes")),
            _float(receiver.get("replay_delay_seconds")), bool(receiver.get("replay_paused"))),
        slots=[Slot(str(s["slot_name"]), str(s["slot_type"]), bool(s["active"]), s.get("wal_status"),
                    _int(s.get("retained_bytes"))) for s in slots],
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def replication_findings(name: str, repl: Replication, th: Thresholds, expected: set[str]) -> list[Finding]:
    """`expected`: application_names the primary should see (configured, or seen before)."""
    found: list[Finding] = []
    present = {r.application_name for r in repl.replicas}
    for missing in sorted(expected - present):
        found.append(Finding("postgres.standby_disconnected", Severity.CRITICAL, f"{name} → {missing}",
                             f"standby {missing} is not connected to primary {name}",
                             "check the standby is running and can reach the primary (its log, "
                             "primary_conninfo, pg_hba.conf); an unreplicated primary is a single copy"))
    for r in repl.replicas:
        subject = f"{name} → {r.application_name}"
        if r.state != "streaming":
            found.append(Finding("postgres.standby_not_streaming", Severity.WARNING, subject,
                                 f"standby {r.application_name} is in state {r.state}, not streaming",
                                 "it is catching up or starting; if it stays, read its log"))
        found += _lag_findings(subject, r.replay_lag_bytes, r.replay_lag_seconds, th)
    if repl.receiver is not None:
        found += _receiver_findings(name, repl.receiver, th)
    found += [f for s in repl.slots for f in _slot_findings(name, s, th)]
    return found


def _receiver_findings(name: str, rcv: Receiver, th: Thresholds) -> list[Finding]:
    found: list[Finding] = []
    if rcv.status != "streaming":
        state = rcv.status or "no WAL receiver"
        found.append(Finding("postgres.standby_disconnected", Severity.CRITICAL, name,
                             f"standby {name} is not streaming from its primary ({state})",
                             "check the primary is up and reachable from here, primary_conninfo and "
                             "the standby's log; the longer it lasts, the more a failover would lose"))
    if rcv.replay_paused:
        found.append(Finding("postgres.replay_paused", Severity.WARNING, name,
                             "WAL replay is paused on this standby", "SELECT pg_wal_replay_resume()"))
    found += _lag_findings(name, rcv.replay_lag_bytes, rcv.replay_delay_seconds, th)
    return found


def _lag_findings(subject: str, lag_bytes: int | None, lag_seconds: float | None, th: Thresholds) -> list[Finding]:
    b, s = lag_bytes or 0, lag_seconds or 0.0
    if b >= th.lag_critical_bytes or s >= th.lag_critical_seconds:
        severity = Severity.CRITICAL
    elif b >= th.lag_warning_bytes or s >= th.lag_warning_seconds:
        severity = Severity.WARNING
    else:
        return []
    return [Finding("postgres.replication_lag", severity, subject,
                    f"replay lag {b:,} bytes, {s:.1f}s",
                    "a failover now would lose this much; look for load on the standby, a slow "
                    "network or paused replay")]


def _slot_findings(name: str, slot: Slot, th: Thresholds) -> list[Finding]:
    subject = f"{name} slot {slot.name}"
    retained = slot.retained_bytes or 0
    if slot.wal_status == "lost":
        return [Finding("postgres.slot_lost", Severity.CRITICAL, subject,
                        "the slot lost WAL its consumer still needed; that standby must be rebuilt",
                        f"SELECT pg_drop_replication_slot('{slot.name}') and rebuild the standby")]
    if slot.active:
        return []
    severity = Severity.CRITICAL if retained >= th.slot_retained_warning_bytes else Severity.WARNING
    return [Finding("postgres.slot_inactive", severity, subject,
                    f"replication slot {slot.name} is inactive and retains {retained:,} bytes of WAL",
                    "an unused slot keeps WAL until the disk fills: reconnect its consumer, or "
                    f"SELECT pg_drop_replication_slot('{slot.name}')")]


def replication_samples(name: str, repl: Replication) -> list[Sample]:
    out: list[Sample] = []
    for r in repl.replicas:
        labels = {"server": name, "standby": r.application_name}
        if r.replay_lag_bytes is not None:
            out.append(Sample("postgres.replication.replay_lag_bytes", r.replay_lag_bytes, labels, "bytes"))
        if r.replay_lag_seconds is not None:
            out.append(Sample("postgres.replication.replay_lag_seconds", r.replay_lag_seconds, labels, "seconds"))
    if repl.receiver is not None and repl.receiver.replay_lag_bytes is not None:
        out.append(Sample("postgres.standby.replay_lag_bytes", repl.receiver.replay_lag_bytes,
                          {"server": name}, "bytes"))
    out += [Sample("postgres.slot.retained_bytes", s.retained_bytes, {"server": name, "slot": s.name}, "bytes")
            for s in repl.slots if s.retained_bytes is not None]
    return out


def replicas_json(repl: Replication) -> list[dict[str, Any]]:
    return [asdict(r) for r in repl.replicas]


def slots_json(repl: Replication) -> list[dict[str, Any]]:
    return [{"name": s.name, "active": s.active, "retained_bytes": s.retained_bytes,
             "slot_type": s.slot_type, "wal_status": s.wal_status} for s in repl.slots]
