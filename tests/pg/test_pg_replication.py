"""`yamori pg status` and the server probes against a real primary and streaming standby."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.pg.pgsupport import replication_pair, wait_streaming, write_config
from tests.support.pgcluster import Cluster, wait_for

from yamori.catalog import build_probes
from yamori.cli import cli
from yamori.config import load_config
from yamori.probe import run_probe
from yamori.records import State

Pair = tuple[Cluster, Cluster, Path]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    base = Path(tempfile.mkdtemp(prefix="yamori-pg-"))
    base.chmod(0o755)
    try:
        with replication_pair(base, extra_conf="shared_preload_libraries = 'pg_stat_statements'\n") as (p, s):
            p.psql("CREATE EXTENSION pg_stat_statements")
            yield p, s, base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _config(pair: Pair, extra: str = "", servers: str = "") -> Path:
    primary, standby, base = pair
    # a test cluster's cache hit ratio is whatever earlier tests did to it: not what these test
    table = "[postgres.thresholds]"
    extra = extra.replace(table, f"{table}\ncache_hit_warning = 0.0") if table in extra else \
        f"{extra}\n{table}\ncache_hit_warning = 0.0"
    return write_config(base / "yamori.toml", f"""
    [postgres]
    connect_timeout = 2
    {extra}
    [[postgres.servers]]
    name = "db1"
    dsn = "{primary.dsn}"
    [[postgres.servers]]
    name = "db2"
    dsn = "{standby.dsn}"
    {servers}
    """)


def _status(cfg: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "status", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _checks(data: dict, subject: str | None = None) -> set[str]:  # type: ignore[type-arg]
    return {f["check"] for f in data["findings"] if subject is None or f["subject"] == subject}


def test_status_json_shape_and_unreachable_server(pair: Pair) -> None:
    cfg = _config(pair, servers="""
    [[postgres.servers]]
    name = "gone"
    dsn = "host=127.0.0.1 port=1 user=postgres dbname=postgres"
    """)
    code, data = _status(cfg)
    assert code == State.CRITICAL
    db1, db2, gone = data["servers"]
    assert {"name", "reachable", "role", "replay_lag_bytes", "replication", "slots"} <= set(db1)
    assert (db1["name"], db1["reachable"], db1["role"], db1["replay_lag_bytes"]) == ("db1", True, "primary", None)
    assert [r["application_name"] for r in db1["replication"]] == ["standby1"]
    replica = db1["replication"][0]
    assert (replica["client_addr"], replica["state"], replica["sync_state"]) == ("127.0.0.1", "streaming", "async")
    assert isinstance(replica["replay_lag_bytes"], int)
    assert db1["slots"] == [{"name": "standby1", "active": True, "retained_bytes": db1["slots"][0]["retained_bytes"],
                             "slot_type": "physical", "wal_status": "reserved"}]
    assert (db2["role"], db2["reachable"], db2["replication"]) == ("standby", True, [])
    assert isinstance(db2["replay_lag_bytes"], int)
    assert (gone["reachable"], gone["role"], gone["replay_lag_bytes"]) == (False, None, None)
    [unreachable] = [f for f in data["findings"] if f["check"] == "postgres.unreachable"]
    assert unreachable["probe"] == "postgres.gone" and unreachable["severity"] == "critical"
    assert "Connection refused" in unreachable["message"]
    assert set(unreachable) >= {"probe", "severity", "subject", "message", "advice"}
    assert data["pgpool"] == [] and data["backups"] == []
    text = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "status"])
    assert text.exit_code == State.CRITICAL
    assert "standby1 (127.0.0.1) streaming/async" in text.output and "gone         UNREACHABLE" in text.output


def test_lag_from_load_and_paused_replay(pair: Pair) -> None:
    primary, standby, _ = pair
    cfg = _config(pair, extra="[postgres.thresholds]\nlag_warning_bytes = 100000\nlag_critical_bytes = 1000000000")
    standby.psql("SELECT pg_wal_replay_pause()")
    try:
        primary.run(primary.bindir / "pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", str(primary.port),
                    "-U", "postgres", "postgres")
        wait_for(lambda: int(standby.psql("SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
                                          "pg_last_wal_replay_lsn())")) > 100000, timeout=20)
        code, data = _status(cfg)
        db1, db2 = data["servers"]
        assert db2["replay_lag_bytes"] > 100000
        assert db1["replication"][0]["replay_lag_bytes"] >= db2["replay_lag_bytes"]
        assert {"postgres.replication_lag", "postgres.replay_paused"} <= _checks(data, "db2")
        assert "postgres.replication_lag" in _checks(data, "db1 → standby1")
        assert code == State.WARNING
    finally:
        standby.psql("SELECT pg_wal_replay_resume()")
    wait_for(lambda: standby.psql("SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()") == "t", timeout=20)
    _, data = _status(cfg)
    assert "postgres.replication_lag" not in _checks(data)


def test_probe_rates_and_top_statements_under_pgbench_load(pair: Pair) -> None:
    primary, _, _ = pair
    settings = load_config(_config(pair))
    [probe] = [p for p in build_probes(settings) if p.name == "postgres.db1"]
    first = asyncio.run(run_probe(probe))
    primary.run(primary.bindir / "pgbench", "-T", "3", "-c", "2", "-h", "127.0.0.1", "-p", str(primary.port),
                "-U", "postgres", "postgres")
    second = asyncio.run(run_probe(probe))
    assert first.state == State.OK, first.reason
    rates = {s.metric: s.value for s in second.samples if s.metric.endswith("_rate")}
    assert rates["postgres.xact_commit_rate"] > 10
    assert rates["postgres.tup_updated_rate"] > 10
    assert rates["postgres.wal_bytes_rate"] > 0
    _, data = _status(_config(pair))
    top = data["servers"][0]["stats"]["top_statements"]
    assert top and any("pgbench_accounts" in s["query"] for s in top)


def test_inactive_slot_is_a_finding(pair: Pair) -> None:
    primary, _, _ = pair
    primary.psql("SELECT pg_create_physical_replication_slot('orphan', true)")
    try:
        code, data = _status(_config(pair))
        slots = {s["name"]: s for s in data["servers"][0]["slots"]}
        assert slots["orphan"]["active"] is False and slots["orphan"]["retained_bytes"] >= 0
        [finding] = [f for f in data["findings"] if f["check"] == "postgres.slot_inactive"]
        assert finding["subject"] == "db1 slot orphan" and finding["severity"] == "warning"
        assert code == State.WARNING
        # The same finding reaches `yamori check --json` through the probe catalog.
        check = CliRunner().invoke(cli, ["-c", str(_config(pair)), "check", "--json", "--only", "postgres"])
        report = json.loads(check.output)
        assert {p["name"] for p in report["probes"]} == {"postgres.db1", "postgres.db2"}
        assert [(f["probe"], f["check"]) for f in report["findings"]
                if f["check"].startswith("postgres.slot")] == [("postgres.db1", "postgres.slot_inactive")]
        assert check.exit_code == State.WARNING
    finally:
        primary.psql("SELECT pg_drop_replication_slot('orphan')")


def test_standby_stopped_then_restarted(pair: Pair) -> None:
    primary, standby, _ = pair
    settings = load_config(_config(pair))
    [probe] = [p for p in build_probes(settings) if p.name == "postgres.db1"]
    assert asyncio.run(run_probe(probe)).state == State.OK  # it has now seen standby1 streaming
    standby.stop("fast")
    try:
        result = asyncio.run(run_probe(probe))
        checks = {f.check: f for f in result.findings}
        assert checks["postgres.standby_disconnected"].subject == "db1 → standby1"
        assert "postgres.slot_inactive" in checks  # its slot now retains WAL for it
        assert result.state == State.CRITICAL
        _, data = _status(_config(pair, extra='expect_standbys = ["standby1"]'))
        assert "postgres.standby_disconnected" in _checks(data, "db1 → standby1")
        assert "postgres.unreachable" in _checks(data, "db2")
    finally:
        standby.start()
    wait_streaming(primary)
    assert asyncio.run(run_probe(probe)).state == State.OK


def test_standby_sees_its_primary_gone(pair: Pair) -> None:
    primary, standby, _ = pair
    primary.stop("fast")
    try:
        wait_for(lambda: standby.psql("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") == "0")
        _, data = _status(_config(pair))
        assert "postgres.standby_disconnected" in _checks(data, "db2")
        assert data["servers"][1]["receiver_status"] != "streaming"
    finally:
        primary.start()
    wait_streaming(primary)


def test_long_running_and_idle_in_transaction_sessions(pair: Pair) -> None:
    import psycopg

    primary, _, _ = pair
    cfg = _config(pair, extra='[postgres.thresholds]\nlong_running = "1s"\nidle_in_transaction = "1s"')
    sleeper = threading.Thread(target=lambda: primary.psql("SELECT pg_sleep(4)"))
    with psycopg.connect(primary.dsn) as idle:
        idle.execute("SELECT 1")  # psycopg opens a transaction: now idle in transaction
        sleeper.start()
        try:
            wait_for(lambda: primary.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' "
                                          "AND now() - query_start > interval '1.5s'") == "1", timeout=10)
            _, data = _status(cfg)
        finally:
            sleeper.join()
    checks = [(f["check"], f["message"]) for f in data["findings"] if f["subject"].startswith("db1 pid")]
    assert any(c == "postgres.long_running" and "pg_sleep(4)" in m for c, m in checks), checks
    assert any(c == "postgres.idle_in_transaction" for c, _ in checks), checks


def test_unprivileged_role_reads_what_it_may_and_says_what_failed(pair: Pair) -> None:
    primary, _, base = pair
    # One by one: CREATE DATABASE cannot run inside psql -c's implicit transaction.
    for sql in ("CREATE ROLE watcher LOGIN", "CREATE DATABASE private",
                "REVOKE CONNECT ON DATABASE private FROM PUBLIC"):
        primary.psql(sql)
    try:
        watcher = primary.dsn.replace("user=postgres", "user=watcher")
        cfg = write_config(base / "watcher.toml", f"""
        [[postgres.servers]]
        name = "db1"
        dsn = "{watcher}"
        """)
        code, data = _status(cfg)
        [db1] = data["servers"]
        assert db1["role"] == "primary" and "private" not in db1["stats"]["databases"]
        assert code in (State.OK, State.WARNING), data["findings"]

        primary.psql("REVOKE EXECUTE ON FUNCTION pg_current_wal_lsn() FROM PUBLIC")
        code, data = _status(cfg)
        [finding] = data["findings"]
        assert finding["check"] == "postgres.query_failed" and "permission denied" in finding["message"]
        assert data["servers"][0]["reachable"] is True and code == State.WARNING
        text = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "status"])
        assert text.exit_code == State.WARNING and "permission denied" in text.output
    finally:
        primary.psql("GRANT EXECUTE ON FUNCTION pg_current_wal_lsn() TO PUBLIC")
        primary.psql("DROP DATABASE private")
        primary.psql("DROP ROLE watcher")
