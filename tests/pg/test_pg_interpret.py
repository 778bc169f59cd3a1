"""The pure halves: rows -> records and findings, plans from checks, config errors. No servers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from yamori.config import ConfigError, parse_config
from yamori.config.postgres import BackupEntry, DnsSettings, PostgresSettings, Thresholds
from yamori.postgres.backups import backup_findings, scan_backups
from yamori.postgres.failover.dns import record_change
from yamori.postgres.failover.plan import PlanOptions, build_plan, expected_loss
from yamori.postgres.failover.survey import PeerCheck, TargetCheck, lsn_bytes
from yamori.postgres.pgpool import parse_pool_nodes, pool_findings
from yamori.postgres.replication import interpret_replication, replication_findings
from yamori.postgres.stats import delta_findings, interpret_server, rates, server_findings

GiB = 2**30
TH = Thresholds()


def _server(*, hit: int, read: int, size: int, sessions: list[dict] | None = None,  # type: ignore[type-arg]
            connections: int = 5, xid_age: int = 1000):  # type: ignore[no-untyped-def]
    head = {"role": "primary", "version": "15.8", "connections": connections, "max_connections": 100,
            "xid_age": xid_age, "wal_bytes": 123}
    db = {"datname": "app", "size": size, "blks_hit": hit, "blks_read": read, "xact_commit": 10}
    return interpret_server(head, [db], {"checkpoints_timed": 1, "checkpoints_req": 0}, sessions or [], [])


def test_incident_10_working_set_no_longer_fits() -> None:
    # 6 GB of RAM under a 10 GB database: most reads miss the buffer cache.
    before = _server(hit=8_000_000, read=2_000_000, size=10 * GiB)
    [finding] = server_findings("db1", before, TH, ram_bytes=6 * GiB)
    assert (finding.check, finding.severity) == ("postgres.cache_hit", "warning")
    assert "80.0%" in finding.message and "10.0 GiB vs RAM 6.0 GiB" in finding.message
    # 16 GB: the hot part fits, hits are back above 99%; the size alone is only worth knowing.
    after = _server(hit=99_500_000, read=500_000, size=10 * GiB)
    assert server_findings("db1", after, TH, ram_bytes=16 * GiB) == []
    assert [f.check for f in server_findings("db1", after, TH, ram_bytes=6 * GiB)] == ["postgres.size_vs_ram"]


def test_a_fresh_server_has_no_hit_ratio_yet() -> None:
    assert _server(hit=500, read=500, size=GiB).cache_hit_ratio is None


def test_connections_and_xid_age() -> None:
    stats = _server(hit=1, read=0, size=1, connections=85, xid_age=1_300_000_000)
    checks = {f.check: f.severity for f in server_findings("db1", stats, TH, None)}
    assert checks == {"postgres.connections": "warning", "postgres.xid_wraparound": "critical"}


def test_session_query_text_is_flattened_and_cut() -> None:
    hostile = "SELECT 1;\n\x1b[31mCRITICAL fake alert\r\n" + "x" * 500
    stats = _server(hit=1, read=0, size=1, sessions=[
        {"pid": 42, "usename": "app", "datname": "app", "state": "idle in transaction", "seconds": 120.0,
         "query": hostile}])
    [finding] = server_findings("db1", stats, TH, None)
    assert finding.check == "postgres.idle_in_transaction" and finding.subject == "db1 pid 42"
    assert "\n" not in finding.message and "\x1b" not in finding.message and len(finding.message) < 200


def test_rates_skip_counters_that_went_backwards() -> None:
    assert rates({"xact_commit": 100, "deadlocks": 5}, {"xact_commit": 160, "deadlocks": 0}, 2.0) == \
        {"xact_commit": 30.0}


def test_deadlocks_temp_files_and_forced_checkpoints_between_runs() -> None:
    before = _server(hit=1, read=0, size=1)
    head = {"role": "primary", "version": "15.8", "connections": 5, "max_connections": 100, "xid_age": 1,
            "wal_bytes": 10**9}
    db = {"datname": "app", "size": 1, "blks_hit": 1, "blks_read": 0, "xact_commit": 10, "deadlocks": 2,
          "temp_files": 3, "temp_bytes": 3 * 2**20}
    after = interpret_server(head, [db], {"checkpoints_timed": 1, "checkpoints_req": 4}, [], [])
    found = {f.check: f.severity for f in delta_findings("db1", before, after)}
    assert found == {"postgres.deadlocks": "warning", "postgres.temp_files": "info",
                     "postgres.checkpoints_forced": "warning"}
    assert delta_findings("db1", after, before) == []  # counters went back: a reset, not negative deadlocks


def _replica(name: str, lag: int, state: str = "streaming") -> dict:  # type: ignore[type-arg]
    return {"application_name": name, "client_addr": "198.51.100.3", "state": state, "sync_state": "async",
            "write_lag_bytes": lag, "flush_lag_bytes": lag, "replay_lag_bytes": lag,
            "write_lag_seconds": 0.1, "flush_lag_seconds": 0.1, "replay_lag_seconds": 0.2}


def test_primary_side_findings() -> None:
    repl = interpret_replication("1/0", [_replica("db3", 300 * 2**20), _replica("db2", 0, "catchup")], None, [
        {"slot_name": "db4", "slot_type": "physical", "active": False, "wal_status": "extended",
         "retained_bytes": 2 * GiB},
        {"slot_name": "db5", "slot_type": "physical", "active": False, "wal_status": "lost", "retained_bytes": None},
        {"slot_name": "db3", "slot_type": "physical", "active": True, "wal_status": "reserved", "retained_bytes": 9}])
    found = {(f.check, f.subject): f.severity for f in replication_findings("db1", repl, TH, {"db3", "db4"})}
    assert found == {
        ("postgres.standby_disconnected", "db1 → db4"): "critical",
        ("postgres.replication_lag", "db1 → db3"): "critical",
        ("postgres.standby_not_streaming", "db1 → db2"): "warning",
        ("postgres.slot_inactive", "db1 slot db4"): "critical",  # 2 GiB retained > 1 GiB
        ("postgres.slot_lost", "db1 slot db5"): "critical",
    }


def test_standby_side_findings() -> None:
    receiver = {"status": None, "sender": None, "receive_lsn": "0/5000000", "replay_lsn": "0/4000000",
                "replay_lag_bytes": 16 * 2**20, "replay_delay_seconds": 5.0, "replay_paused": True}
    repl = interpret_replication("0/4000000", [], receiver, [])
    found = {f.check: f.severity for f in replication_findings("db3", repl, TH, set())}
    assert found == {"postgres.standby_disconnected": "critical", "postgres.replay_paused": "warning",
                     "postgres.replication_lag": "warning"}


# SHOW POOL_NODES as psycopg returned it from pgpool-II 4.3 (14 columns, STACK.md §3.6).
POOL_ROWS = [
    dict(zip(("node_id", "hostname", "port", "status", "pg_status", "lb_weight", "role", "pg_role", "select_cnt",
              "load_balance_node", "replication_delay", "replication_state", "replication_sync_state",
              "last_status_change"), row, strict=True))
    for row in (("0", "10.0.0.1", "5432", "up", "up", "0.500000", "main", "main", "0", "true", "0", "", "",
                 "2026-11-25 13:06:16"),
                ("1", "10.0.0.2", "5432", "down", "down", "0.500000", "replica", "replica", "0", "false", "0", "",
                 "", "2026-11-25 13:06:17"),
                ("2", "10.0.0.3", "5432", "up", "up", "0.000000", "standby", "standby", "0", "false", "99999999",
                 "streaming", "async", "2026-11-25 13:06:16"))]


def test_pool_nodes() -> None:
    nodes = parse_pool_nodes(POOL_ROWS)
    assert [(n.node_id, n.status, n.down, n.replication_state) for n in nodes] == [
        (0, "up", False, None), (1, "down", True, None), (2, "up", False, "streaming")]
    found = {f.check: (f.severity, f.subject) for f in pool_findings(nodes, TH.lag_warning_bytes)}
    assert found == {"pgpool.backend_down": ("critical", "pgpool node 1 (10.0.0.2:5432)"),
                     "pgpool.replication_delay": ("warning", "pgpool node 2 (10.0.0.3:5432)")}


def test_backups_age_and_size(tmp_path: Path) -> None:
    entry = BackupEntry(name="nightly", dir=str(tmp_path), pattern="*.dump", rpo=26 * 3600, min_size_ratio=0.5)
    now = time.time()
    assert [f.check for f in backup_findings(scan_backups(entry), entry, now)] == ["postgres.backup_missing"]
    old, new = tmp_path / "app-1.dump", tmp_path / "app-2.dump"
    old.write_bytes(b"x" * 10_000)
    new.write_bytes(b"x" * 100)
    (tmp_path / "notes.txt").write_text("not a dump")
    os.utime(old, (now - 50 * 3600, now - 50 * 3600))
    os.utime(new, (now - 30 * 3600, now - 30 * 3600))
    report = scan_backups(entry)
    assert report.newest is not None and report.newest.path == str(new)
    found = {f.check: f.severity for f in backup_findings(report, entry, now)}
    assert found == {"postgres.backup_stale": "critical", "postgres.backup_small": "warning"}
    new.write_bytes(b"x" * 9_000)
    assert backup_findings(scan_backups(entry), entry, time.time()) == []
    missing = BackupEntry(name="gone", dir=str(tmp_path / "nope"))
    assert "no such directory" in backup_findings(scan_backups(missing), missing, now)[0].message


def test_lsn_and_expected_loss() -> None:
    assert lsn_bytes("16/B374D848") == (0x16 << 32) + 0xB374D848
    target = TargetCheck("db3", None, True, "streaming", "10.0.0.1:5432", "0/3000000", "0/3000000", 1.0)
    primary = PeerCheck("db1", None, True, False, "0/3000100", True)
    loss, note = expected_loss(target, primary, "0/3000100")
    assert loss == 0x100 and "256 bytes" in note
    loss, note = expected_loss(target, PeerCheck("db1", error="down"), None)
    assert loss is None and "unknown" in note


def _settings(**extra: object) -> PostgresSettings:
    return PostgresSettings.model_validate({"servers": [
        {"name": "db1", "dsn": "host=10.0.0.1 port=5432 user=yamori"},
        {"name": "db3", "dsn": "host=203.0.113.7 user=yamori password=s3cret"}], **extra})


def test_plan_is_blocked_for_an_unreachable_or_primary_target() -> None:
    settings = _settings()
    down = build_plan(settings, TargetCheck("db3", error="timeout expired"), [PeerCheck("db1", error="refused")])
    assert not down.ready and "unreachable" in down.blockers[0]
    primary = build_plan(settings, TargetCheck("db3", None, False), [])
    assert "already a primary" in primary.blockers[0]


def test_plan_finds_the_old_primary_by_sender_and_never_prints_passwords() -> None:
    target = TargetCheck("db3", None, True, None, "10.0.0.1:5432", "0/3000000", "0/3000000", 40.0)
    settings = _settings(dns={"server": "192.0.2.53", "zone": "example.org", "record": "db"})
    peers = [PeerCheck("db1", error="no route to host")]
    refused = build_plan(settings, target, peers)
    assert not refused.ready and "--old-primary-down" in refused.blockers[0]
    plan = build_plan(settings, target, peers, PlanOptions(old_primary_down=True))
    assert plan.ready and plan.old_primary == "db1" and not plan.old_primary_reachable
    assert [s.key for s in plan.steps] == ["fence_manual", "promote", "wait_writable", "verify_write", "dns_update",
                                           "rebuild"]
    assert plan.steps[4].detail == "db.example.org. 60 IN A 203.0.113.7"
    assert "s3cret" not in str(plan.as_json())


def test_a_primary_whose_statistics_fail_is_still_a_primary_and_one_that_cannot_say_blocks() -> None:
    target = TargetCheck("db3", None, True, "streaming", "10.0.0.1:5432", "0/3000000", "0/3000000", 0.0)
    # connected, role known, but yamori's role there is no superuser: it could not be fenced
    weak = build_plan(_settings(), target, [PeerCheck("db1", None, True, False, "0/3000000", superuser=False)])
    assert weak.old_primary == "db1" and not weak.ready and "cannot fence" in weak.blockers[0]
    mute = build_plan(_settings(), target, [PeerCheck("db1", "permission denied for function", connected=True)])
    assert not mute.ready and "cannot say whether it is a primary" in mute.blockers[0]
    two = build_plan(_settings(), target, [PeerCheck("db1", None, True, False, "0/1", True),
                                           PeerCheck("db2", None, True, False, "0/1", True)])
    assert any("more than one primary" in b for b in two.blockers)
    ok = build_plan(_settings(), target, [PeerCheck("db1", None, True, False, "0/3000000", True)])
    assert ok.ready and [s.key for s in ok.steps][:2] == ["fence_sql", "catch_up"]


def test_loss_beyond_the_bounds_refuses_unless_accepted() -> None:
    settings = _settings(failover={"max_lag_bytes": 1000, "max_replay_age": "10m"})
    old = [PeerCheck("db1", None, True, False, "0/3000000", True)]
    behind = TargetCheck("db3", None, True, "streaming", "10.0.0.1:5432", "0/2000000", "0/2000000", 5.0)
    plan = build_plan(settings, behind, old)
    assert plan.expected_loss_bytes == 0x1000000 and "max_lag_bytes" in plan.blockers[0]
    assert build_plan(settings, behind, old, PlanOptions(accept_loss=True)).ready
    stale = TargetCheck("db3", None, True, None, None, "0/3000000", "0/3000000", 3 * 86400.0)
    down = build_plan(settings, stale, [PeerCheck("db1", error="refused")], PlanOptions(old_primary_down=True))
    assert not down.ready and "max_replay_age" in down.blockers[0]
    unknown = TargetCheck("db3", None, True, None, None, "0/3000000", "0/3000000", None)
    blind = build_plan(settings, unknown, [PeerCheck("db1", error="refused")], PlanOptions(old_primary_down=True))
    assert "cannot be bounded" in blind.blockers[0]


def test_pgpool_with_an_unreachable_old_primary_keeps_the_keep_it_down_step() -> None:
    settings = _settings(pgpool={"dsn": "host=127.0.0.1 port=9999", "pcp_host": "127.0.0.1"})
    target = TargetCheck("db3", None, True, None, "10.0.0.1:5432", "0/3000000", "0/3000000", 1.0)
    plan = build_plan(settings, target, [PeerCheck("db1", error="refused")], PlanOptions(old_primary_down=True))
    assert [s.key for s in plan.steps][:2] == ["fence_pcp", "fence_manual"]
    assert "powered off or isolated" in plan.steps[1].detail


def test_record_change_types() -> None:
    dns = DnsSettings(server="192.0.2.53", zone="example.org.", record="db", ttl=30)
    assert record_change(dns, "2001:db8::5").text() == "db.example.org. 30 IN AAAA 2001:db8::5"
    assert record_change(dns, "db3.example.net").rdtype == "CNAME"


@pytest.mark.parametrize(("toml", "expected"), [
    ('[[postgres.servers]]\nname = "pgpool"\ndsn = "host=x"\n', "reserved"),
    ('[[postgres.servers]]\nname = "db1"\ndsn = "a"\n[[postgres.servers]]\nname = "db1"\ndsn = "b"\n', "unique"),
    ('[[postgres.servers]]\nname = "db1"\ndsn = "a"\nurl = "b"\n', "url"),
])
def test_config_errors_point_at_the_file(toml: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(toml, "yamori.toml")
    assert expected in str(err.value) and "yamori.toml" in str(err.value)


def test_fence_undo_restores_what_was_there() -> None:
    from yamori.postgres.failover.fence import undo_sql

    assert undo_sql({}).startswith("ALTER SYSTEM RESET session_preload_libraries;")
    kept = undo_sql({"setting": "auto_explain", "sourcefile": "/var/lib/pg/data/postgresql.auto.conf"})
    assert kept.startswith("ALTER SYSTEM SET session_preload_libraries = 'auto_explain';")
    # set in postgresql.conf: RESET brings that value back
    assert undo_sql({"setting": "auto_explain", "sourcefile": "/etc/postgresql/15/main/postgresql.conf"}) \
        .startswith("ALTER SYSTEM RESET session_preload_libraries;")
