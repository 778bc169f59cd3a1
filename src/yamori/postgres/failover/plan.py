"""Guided failover, the planning half: from what the servers answered (`survey`), bound the
expected data loss and list every step as data. `apply.apply_plan` runs it.

One primary always: a server that answers is asked `pg_is_in_recovery()` by itself (a failing
statistics query never hides a primary); a server that answers but cannot say blocks the plan,
as do two primaries, a reachable primary yamori cannot fence (see `fence.py`), and an
unreachable old primary unless the operator states it is powered off or isolated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ...config.postgres import PostgresSettings
from .dns import record_change
from .fence import FENCE_LIBRARY, lift_text
from .survey import PeerCheck, TargetCheck, lsn_bytes, read_peer, read_target, server_entry


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # what apply() runs: fence_sql, fence_pcp, catch_up, promote, wait_writable, verify_write, dns...
    server: str
    title: str
    detail: str  # the exact SQL, command or record change
    manual: bool = False  # printed for the operator, not executed
    peer: str = ""  # the other server a step involves (catch_up: the old primary)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    accept_loss: bool = False  # go on beyond [postgres.failover] max_lag_bytes / max_replay_age
    old_primary_down: bool = False  # the operator states the unreachable old primary is off or isolated


@dataclass(frozen=True, slots=True)
class FailoverPlan:
    target: TargetCheck
    old_primary: str | None
    old_primary_reachable: bool
    old_primary_lsn: str | None
    expected_loss_bytes: int | None
    loss_note: str
    blockers: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    replay_age_seconds: float | None = None
    max_lag_bytes: int = 0
    max_replay_age: float = 0.0

    @property
    def ready(self) -> bool:
        return not self.blockers

    def as_json(self) -> dict[str, Any]:
        return {"target": asdict(self.target), "old_primary": self.old_primary,
                "old_primary_reachable": self.old_primary_reachable, "old_primary_lsn": self.old_primary_lsn,
                "expected_loss_bytes": self.expected_loss_bytes, "loss_note": self.loss_note,
                "replay_age_seconds": self.replay_age_seconds, "max_lag_bytes": self.max_lag_bytes,
                "max_replay_age_seconds": self.max_replay_age,
                "ready": self.ready, "blockers": self.blockers, "steps": [asdict(s) for s in self.steps]}


def plan_failover(settings: PostgresSettings, target_name: str, options: PlanOptions | None = None) -> FailoverPlan:
    entry = server_entry(settings, target_name)
    target = read_target(entry, settings)
    peers = [read_peer(e, settings) for e in settings.servers if e.name != target_name]
    return build_plan(settings, target, peers, options)


def find_old_primary(settings: PostgresSettings, target: TargetCheck, others: list[PeerCheck]) -> PeerCheck | None:
    """A reachable primary; else the server the standby streamed from; else the only other one
    that is not a known standby."""
    primaries = [r for r in others if r.role == "primary"]
    if primaries:
        return primaries[0]
    if target.sender:
        for r in others:
            if endpoint(server_entry(settings, r.name).dsn) == target.sender:
                return r
    down = [r for r in others if r.role != "standby"]
    return down[0] if len(down) == 1 else None


def endpoint(dsn: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:  # malformed dsn: reported when connecting
        return None
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}"


def build_plan(settings: PostgresSettings, target: TargetCheck, others: list[PeerCheck],
               options: PlanOptions | None = None) -> FailoverPlan:
    """Pure: the checks' results -> blockers, expected loss and steps."""
    options = options or PlanOptions()
    limits = settings.failover
    old = find_old_primary(settings, target, others)
    old_lsn = old.lsn if old and old.role == "primary" else None
    loss, note = expected_loss(target, old, old_lsn)
    blockers = _blockers(target, others)
    if target.error is None and target.in_recovery:
        blockers += _old_primary_blockers(old, others, options)
        blockers += _loss_blockers(loss, target.replay_age_seconds, limits.max_lag_bytes, limits.max_replay_age,
                                   options.accept_loss)
    steps = _fence_steps(settings, old, target.name) + _promote_steps(target) + _dns_steps(settings, target.name)
    steps.append(rebuild_step(settings, target.name, old.name if old else None))
    return FailoverPlan(target, old.name if old else None, bool(old and old.reachable), old_lsn,
                        loss, note, blockers, steps, target.replay_age_seconds, limits.max_lag_bytes,
                        limits.max_replay_age)


def _blockers(target: TargetCheck, others: list[PeerCheck]) -> list[str]:
    if target.error is not None:
        return [f"target {target.name} is unreachable: {target.error}"]
    found = []
    if not target.in_recovery:
        found.append(f"target {target.name} is already a primary (not in recovery): nothing to promote")
    for r in others:
        if r.connected and r.role is None:
            found.append(f"{r.name} answers but cannot say whether it is a primary ({r.error}): "
                         "it might take writes after the promotion; find out by hand first")
    primaries = [r.name for r in others if r.role == "primary"]
    if len(primaries) > 1:
        found.append(f"more than one primary is running ({', '.join(primaries)}): sort that out first")
    return found


def _old_primary_blockers(old: PeerCheck | None, others: list[PeerCheck], options: PlanOptions) -> list[str]:
    found = []
    if old is not None and old.role == "primary" and not old.superuser:
        found.append(f"{old.name} is a running primary and the role yamori connects as there is not a "
                     "superuser: yamori cannot fence it, so promoting would make two primaries")
    down = [r for r in others if not r.connected and not r.fenced]
    if down and not options.old_primary_down:
        names = ", ".join(r.name for r in down)
        found.append(f"{names} cannot be reached ({'; '.join(f'{r.name}: {r.error}' for r in down)}): "
                     "yamori cannot fence what it cannot reach. Power it off or isolate it from the network "
                     "(a primary that comes back takes writes on a dead branch), then run again with "
                     "--old-primary-down")
    if old is None and not options.old_primary_down:
        found.append("no old primary found among the configured servers: make sure none is running, "
                     "then run again with --old-primary-down")
    return found


def _loss_blockers(loss: int | None, age: float | None, max_bytes: int, max_age: float, accept: bool) -> list[str]:
    if accept:
        return []
    found = []
    if loss is not None and loss > max_bytes:
        found.append(f"expected loss {loss:,} bytes exceeds [postgres.failover] max_lag_bytes = {max_bytes:,}; "
                     "run again with --accept-loss to promote anyway")
    if age is not None and age > max_age:
        found.append(f"the target last replayed {age:.0f}s ago, beyond [postgres.failover] max_replay_age = "
                     f"{max_age:.0f}s; run again with --accept-loss to promote anyway")
    if loss is None and age is None:
        found.append("the expected loss cannot be bounded (old primary's position and the target's last replay "
                     "unknown); run again with --accept-loss to promote anyway")
    return found


def expected_loss(target: TargetCheck, old: PeerCheck | None, old_lsn: str | None) -> tuple[int | None, str]:
    """Bytes the target has not replayed yet (promotion also applies what it received but did
    not replay, which the catch-up step waits for; the bound stays on what is applied)."""
    received = target.receive_lsn or target.replay_lsn
    replayed = target.replay_lsn or received
    streaming = "streaming" if target.receiver_status == "streaming" else \
        f"NOT streaming ({target.receiver_status or 'no WAL receiver'})"
    age = "" if target.replay_age_seconds is None else \
        f"; last replayed {target.replay_age_seconds:.0f}s ago"
    if old_lsn and replayed:
        loss = max(0, lsn_bytes(old_lsn) - lsn_bytes(replayed))
        return loss, (f"target {streaming}; primary {old.name if old else '?'} at {old_lsn}, target received "
                      f"{received}, replayed {replayed}: {loss:,} bytes of WAL behind now; yamori fences the "
                      f"primary and waits for the target to catch up first, so a planned switchover should "
                      f"lose nothing{age}")
    who = old.name if old else "the old primary"
    return None, (f"target {streaming}, received up to {received or 'unknown'}; {who} is unreachable, so its last "
                  f"position is unknown: everything it committed after that position is lost{age}")


def _fence_steps(settings: PostgresSettings, old: PeerCheck | None, target: str) -> list[Step]:
    if old is None:
        return [Step("fence_manual", "?", "make sure no old primary can take writes",
                     "no reachable primary and no unique candidate: check by hand that every former primary "
                     "is stopped", manual=True)]
    steps: list[Step] = []
    pool = settings.pgpool
    if pool is not None and pool.pcp_host:
        steps.append(Step("fence_pcp", old.name, f"detach {old.name} in pgpool (PCP {pool.pcp_host}:{pool.pcp_port})",
                          f"pcp_detach_node -h {pool.pcp_host} -p {pool.pcp_port} -U {pool.pcp_user} -w "
                          f"-n <node id of {old.name}>"))
    if old.reachable:
        steps.append(Step("fence_sql", old.name, f"fence {old.name}: refuse new sessions, read-only, end sessions",
                          f"ALTER SYSTEM SET session_preload_libraries = '{FENCE_LIBRARY}'; "
                          "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf(); "
                          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid(); "
                          "verify: a new plain session is refused, no client session left, "
                          "CREATE TABLE fails read-only\n" + lift_text(old.name, _shown(settings, old.name))))
        steps.append(Step("catch_up", target, f"wait until {target} has received {old.name}'s last WAL",
                          f"compare pg_current_wal_lsn() on {old.name} with pg_last_wal_receive_lsn() "
                          f"on {target} (up to 60s)", peer=old.name))
    elif old.fenced:
        steps.append(Step("fence_manual", old.name, f"{old.name} is already fenced by yamori",
                          f"it refuses new sessions ({FENCE_LIBRARY}); keep it so until it is rebuilt",
                          manual=True))
    else:
        steps.append(Step("fence_manual", old.name, f"{old.name} is unreachable: keep it down",
                          f"yamori cannot fence {old.name} from here; it must stay powered off or isolated "
                          "(stop PostgreSQL, power it off, cut its network) until it is rebuilt as a standby, "
                          "or clients that still reach it will write to a dead branch", manual=True))
    return steps


def _shown(settings: PostgresSettings, name: str) -> str:
    return _without_password(server_entry(settings, name).dsn)


def _promote_steps(target: TargetCheck) -> list[Step]:
    name = target.name
    return [
        Step("promote", name, f"promote {name}",
             ("SELECT pg_wal_replay_resume(); " if target.paused else "")
             + "SELECT pg_promote(wait => true, wait_seconds => 60)"),
        Step("wait_writable", name, f"wait until {name} accepts writes",
             "pg_is_in_recovery() = false; ALTER SYSTEM RESET default_transaction_read_only (a fence left "
             "by an earlier failover); transaction_read_only = off"),
        Step("verify_write", name, f"verify with a committed write on {name}",
             "CREATE TABLE IF NOT EXISTS yamori_failover_check (...); INSERT ... RETURNING id; COMMIT; "
             "read it back on a new connection"),
    ]


def new_address(settings: PostgresSettings, name: str) -> str | None:
    from ..db import conninfo_host

    entry = server_entry(settings, name)
    return entry.address or conninfo_host(entry.dsn)


def _dns_steps(settings: PostgresSettings, name: str) -> list[Step]:
    address = new_address(settings, name)
    if address is None:
        return [Step("dns_manual", name, "point the application's database name at the new primary",
                     f"{name} has no address= and its dsn has no host=: set the record by hand", manual=True)]
    change = record_change(settings.dns, address)
    if settings.dns is None:
        return [Step("dns_manual", name, "change DNS by hand (no [postgres.dns] configured)",
                     f"set {change.text()} (replacing the old A/AAAA/CNAME); with nsupdate:\n"
                     + change.nsupdate_script(), manual=True)]
    return [Step("dns_update", name, f"RFC 2136 update on {settings.dns.server}:{settings.dns.port}",
                 change.text())]


def rebuild_step(settings: PostgresSettings, target: str, old: str | None) -> Step:
    source = _without_password(server_entry(settings, target).dsn)
    name = old or "the old primary"
    slot = (old or "old_primary").replace("-", "_")
    return Step("rebuild", name, f"rebuild {name} as a standby of {target}", "\n".join([
        f"on {name}, with PostgreSQL stopped ($PGDATA = its data directory; the password from ~/.pgpass):",
        f"  pg_rewind --target-pgdata=\"$PGDATA\" --source-server='{source}' --write-recovery-conf --progress",
        "  (pg_rewind needs wal_log_hints = on or data checksums; otherwise start afresh:)",
        f"  rm -rf \"$PGDATA\"/* && pg_basebackup -d '{source}' -D \"$PGDATA\" -R -X stream -C -S {slot}",
        "  in postgresql.auto.conf remove session_preload_libraries and default_transaction_read_only"
        " (yamori's fence) if they are still there,",
        "  start PostgreSQL; `yamori pg status` must show it streaming from the new primary",
    ]), manual=True)


def _without_password(dsn: str) -> str:
    """Printed commands must not carry a password someone put in the dsn."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        info = conninfo_to_dict(dsn)
    except Exception:
        return "<dsn of the new primary>"
    info.pop("password", None)
    return make_conninfo("", **info)


def plan_text(plan: FailoverPlan) -> list[str]:
    t = plan.target
    lines = [f"target {t.name}: " + (f"UNREACHABLE ({t.error})" if t.error else
             f"{'standby' if t.in_recovery else 'primary'}, receiver {t.receiver_status or 'none'}, "
             f"received {t.receive_lsn}, replayed {t.replay_lsn}" + (", replay PAUSED" if t.paused else "")),
             f"old primary: {plan.old_primary or 'unknown'}" + ("" if plan.old_primary is None else
                                                              " (reachable)" if plan.old_primary_reachable
                                                              else " (unreachable)"),
             "expected data loss: " + ("unknown" if plan.expected_loss_bytes is None
                                       else f"{plan.expected_loss_bytes:,} bytes") + ", last replayed "
             + ("at an unknown time" if plan.replay_age_seconds is None else f"{plan.replay_age_seconds:.0f}s ago")
             + f" (limits {plan.max_lag_bytes:,} bytes, {plan.max_replay_age:.0f}s) — {plan.loss_note}"]
    lines += [f"BLOCKED: {b}" for b in plan.blockers]
    for i, step in enumerate(plan.steps, 1):
        lines.append(f"{i}. {'[you] ' if step.manual else ''}{step.title}")
        lines += [f"     {line}" for line in step.detail.splitlines()]
    return lines
