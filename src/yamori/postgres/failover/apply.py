"""Guided failover, the acting half: re-verify the target, then run the plan's steps in order.

Each step reports a `StepResult` as it finishes (the CLI prints it at once). A failed step
stops the run: promoting while a reachable old primary could not be fenced would split the
brain, and switching DNS to a server that does not accept writes would take the site down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...config.postgres import PostgresSettings
from ..db import Row, Unreachable, connect, one, reason, rows
from ..pgpool import detach_command, find_node, read_pool_nodes, run_pcp
from .dns import DnsError, apply_change, query_record, record_change
from .fence import FENCE_LIBRARY, FenceError, apply_fence, connect_exempt, lift_text
from .plan import FailoverPlan, Step, _without_password, new_address
from .survey import lsn_bytes, read_target, server_entry

CHECK_TABLE_SQL = ("CREATE TABLE IF NOT EXISTS yamori_failover_check (id bigserial PRIMARY KEY, "
                   "at timestamptz NOT NULL DEFAULT now(), promoted text NOT NULL)")


@dataclass(frozen=True, slots=True)
class RunOptions:
    wait_seconds: float = 60.0  # for catch-up, promotion and the first write
    accept_loss: bool = False  # go on when the target cannot catch up with a reachable old primary
    undo: dict[str, str] = field(default_factory=dict)  # server -> the SQL that lifts its fence (filled in)


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    ok: bool
    message: str


class StepFailed(Exception):
    pass


def apply_plan(plan: FailoverPlan, settings: PostgresSettings, report: Callable[[StepResult], None],
               options: RunOptions | None = None) -> bool:
    """Run every step; True when all succeeded. The target is checked again first: the plan
    may be minutes old and the standby might have been promoted by someone else since."""
    options = options or RunOptions()
    if not plan.ready:
        raise StepFailed("the plan is blocked: " + "; ".join(plan.blockers))
    again = read_target(server_entry(settings, plan.target.name), settings)
    if again.error is not None or not again.in_recovery:
        raise StepFailed(f"target {plan.target.name} changed since the plan: "
                         + (again.error or "it is no longer a standby"))
    fenced: list[str] = []  # servers fenced so far: a later failure says how to lift or finish
    for step in plan.steps:
        try:
            message = "printed for you to do" if step.manual else ACTIONS[step.key](step, settings, options)
        except (StepFailed, Unreachable, DnsError, FenceError) as err:
            report(StepResult(step, False, str(err) + _after_fence(plan, settings, step, fenced, options)))
            return False
        except Exception as err:  # psycopg errors: the server's own words
            report(StepResult(step, False, reason(err) + _after_fence(plan, settings, step, fenced, options)))
            return False
        if step.key == "fence_sql":
            fenced.append(step.server)
        report(StepResult(step, True, message))
    return True


def _after_fence(plan: FailoverPlan, settings: PostgresSettings, failed: Step, fenced: list[str],
                 options: RunOptions) -> str:
    if failed.key == "fence_sql":
        fenced = [*fenced, failed.server]  # it may be half-applied: the undo is harmless either way
    if not fenced:
        return ""
    target = plan.target.name
    shown = _without_password(_dsn(settings, target))
    promoted = failed.key not in ("fence_sql", "fence_pcp", "catch_up", "promote")
    lines = [lift_text(name, _without_password(_dsn(settings, name)), options.undo.get(name)) for name in fenced]
    if promoted:
        lines.append(f"To finish by hand: {target} is promoted; do the remaining steps below yourself.")
    else:
        lines.append(f"To finish by hand instead: psql '{shown}' -c \"SELECT pg_wal_replay_resume(); "
                     f"SELECT pg_promote(wait => true)\", check it accepts a write, then switch DNS and "
                     "rebuild the old primary as the plan says (the fence stays until then).")
    return "\n      " + "\n      ".join(lines)


def _dsn(settings: PostgresSettings, name: str) -> str:
    return server_entry(settings, name).dsn


def fence_sql(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    done = apply_fence(_dsn(settings, step.server), settings.connect_timeout)
    options.undo[step.server] = done.undo_sql
    return (f"{step.server} refuses new sessions and is read-only; {done.ended_sessions} client session(s) "
            "ended; verified: a plain connection is refused and a write fails")


def fence_pcp(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    from .plan import endpoint

    assert settings.pgpool is not None
    host, _, port = (endpoint(_dsn(settings, step.server)) or ":").rpartition(":")
    node = find_node(read_pool_nodes(settings.pgpool.dsn, settings.connect_timeout), host,
                     int(port) if port.isdigit() else None)
    if node is None:
        return f"{step.server} is not a pgpool backend: nothing to detach"
    ok, output = run_pcp(detach_command(settings.pgpool, node.node_id))
    if not ok:
        raise StepFailed(f"pcp_detach_node -n {node.node_id}: {output}")
    return f"pgpool node {node.node_id} detached"


def catch_up(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    """After fencing, let the target receive the old primary's last WAL so nothing is lost
    (promotion replays everything received, even when replay was paused)."""
    target = step.server
    with connect_exempt(_dsn(settings, step.peer), settings.connect_timeout) as old:
        final = str(one(old, "SELECT pg_current_wal_lsn()::text AS lsn")["lsn"])
    deadline = time.monotonic() + options.wait_seconds
    replayed = None
    with connect(_dsn(settings, target), timeout=settings.connect_timeout) as conn:
        while time.monotonic() < deadline:
            replayed = one(conn, "SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text "
                                 "AS lsn").get("lsn")
            if replayed and lsn_bytes(replayed) >= lsn_bytes(final):
                return f"{target} received up to {replayed} (old primary at {final}): no data lost"
            time.sleep(0.2)
    behind = f"{lsn_bytes(final) - lsn_bytes(replayed):,} bytes" if replayed else "an unknown amount"
    if not options.accept_loss:
        raise StepFailed(f"{target} is still {behind} behind {step.peer} after {options.wait_seconds:.0f}s; "
                         "stopped before promoting; or run again with --accept-loss")
    return f"{target} still {behind} behind after {options.wait_seconds:.0f}s; going on (--accept-loss)"


def promote(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    with connect(_dsn(settings, step.server), timeout=settings.connect_timeout) as conn:
        if one(conn, "SELECT pg_is_wal_replay_paused() AS p").get("p"):
            rows(conn, "SELECT pg_wal_replay_resume()")  # promote must replay what it received
        wait = int(options.wait_seconds)
        done = one(conn, "SELECT pg_promote(wait => true, wait_seconds => %s) AS ok", (wait,)).get("ok")
    if not done:
        raise StepFailed(f"pg_promote() on {step.server} did not finish within {wait}s")
    return f"{step.server} promoted"


def wait_writable(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    deadline = time.monotonic() + options.wait_seconds
    state: Row = {}
    while time.monotonic() < deadline:
        with connect_exempt(_dsn(settings, step.server), settings.connect_timeout) as conn:
            state = one(conn, "SELECT pg_is_in_recovery() AS rec, current_setting('transaction_read_only') AS ro, "
                              "current_setting('default_transaction_read_only') AS dro")
            fence_left = _fence_in_config(conn)
            if not state["rec"] and (state["dro"] == "on" or fence_left):
                rows(conn, "ALTER SYSTEM RESET default_transaction_read_only")  # a fence from an earlier failover
                if fence_left:
                    rows(conn, "ALTER SYSTEM RESET session_preload_libraries")
                rows(conn, "SELECT pg_reload_conf()")
                time.sleep(0.2)
                continue
            if not state["rec"] and state["ro"] == "off":
                return f"{step.server} is out of recovery and read-write"
        time.sleep(0.2)
    raise StepFailed(f"{step.server} does not accept writes after {options.wait_seconds:.0f}s "
                     f"(in recovery: {state.get('rec')}, read-only: {state.get('ro')})")


def _fence_in_config(conn: Any) -> bool:
    """Is session_preload_libraries yamori's fence in the server's files? (Our own session resets
    it, so current_setting cannot tell; pg_file_settings is for superusers: others cannot have one.)"""
    import psycopg

    try:
        found = one(conn, "SELECT setting FROM pg_file_settings WHERE name = 'session_preload_libraries' "
                          "AND applied ORDER BY seqno DESC LIMIT 1")
    except psycopg.Error:
        return False
    return found.get("setting") == FENCE_LIBRARY


def verify_write(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    dsn = _dsn(settings, step.server)
    with connect(dsn, timeout=settings.connect_timeout, autocommit=False) as conn:
        rows(conn, CHECK_TABLE_SQL)
        new_id = one(conn, "INSERT INTO yamori_failover_check (promoted) VALUES (%s) RETURNING id",
                     (step.server,))["id"]
        conn.commit()
    with connect(dsn, timeout=settings.connect_timeout) as conn:  # a new session sees only committed rows
        seen = one(conn, "SELECT promoted FROM yamori_failover_check WHERE id = %s", (new_id,))
    if seen.get("promoted") != step.server:
        raise StepFailed(f"the committed row {new_id} is not visible on {step.server}")
    return f"committed row {new_id} in yamori_failover_check and read it back"


def dns_update(step: Step, settings: PostgresSettings, options: RunOptions) -> str:
    assert settings.dns is not None
    address = new_address(settings, step.server)
    assert address is not None
    change = record_change(settings.dns, address)
    done = apply_change(settings.dns, change)
    answer = query_record(settings.dns, change)
    if change.value not in answer:
        raise StepFailed(f"{settings.dns.server} answers {answer or 'nothing'} for {change.name} after the update")
    return done


ACTIONS: dict[str, Callable[[Step, PostgresSettings, RunOptions], str]] = {
    "fence_sql": fence_sql, "fence_pcp": fence_pcp, "catch_up": catch_up, "promote": promote,
    "wait_writable": wait_writable, "verify_write": verify_write, "dns_update": dns_update,
}
