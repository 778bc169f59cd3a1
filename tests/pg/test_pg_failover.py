"""Guided failover against a real primary + streaming standby, and DNS against a real BIND."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import dns.message
import dns.query
from click.testing import CliRunner
from tests.pg.pgsupport import TSIG_SECRET, replication_pair, running_named, write_config
from tests.support.pgcluster import Cluster, wait_for

from yamori.cli import cli


def _config(base: Path, primary_dsn: str, standby_dsn: str, dns_port: int | None = None) -> Path:
    text = f"""
    [postgres]
    connect_timeout = 2
    [[postgres.servers]]
    name = "db1"
    dsn = "{primary_dsn}"
    [[postgres.servers]]
    name = "db2"
    dsn = "{standby_dsn}"
    address = "192.0.2.3"
    """
    if dns_port is not None:
        text += f"""
    [postgres.dns]
    server = "127.0.0.1"
    port = {dns_port}
    zone = "example.test"
    record = "db"
    ttl = 30
    key_name = "yamori-key"
    key_secret_env = "YAMORI_TEST_TSIG"
    """
    return write_config(base / "yamori.toml", text)


def _writable(cluster: Cluster) -> bool:
    """Does a plain new session (any client) get a write committed?"""
    done = cluster.run(cluster.bindir / "psql", "-X", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                       "-c", "CREATE TABLE IF NOT EXISTS probe_write (v int); INSERT INTO probe_write VALUES (1)",
                       check=False)
    return done.returncode == 0


def _past_fence(cluster: Cluster, sql: str) -> subprocess.CompletedProcess[str]:
    """A superuser session that resets the fence in its startup packet, as yamori's own."""
    return cluster.run(cluster.bindir / "psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(cluster.port),
                       "-U", "postgres", "-c", sql, check=False,
                       env=dict(os.environ, PGOPTIONS="-c session_preload_libraries="))


def _yamori(cfg: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-c", str(cfg), *args], env=env)


def test_failover_with_primary_down_promotes_writes_and_updates_dns(pg_tmpdir: Path) -> None:
    with replication_pair(pg_tmpdir) as (primary, standby), running_named(pg_tmpdir) as dns_port:
        primary.psql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)")
        cfg = _config(pg_tmpdir, primary.dsn, standby.dsn, dns_port)
        env = {"YAMORI_TEST_TSIG": TSIG_SECRET}
        primary.stop("immediate")

        refused = _yamori(cfg, "failover", "run", "--to", "db2", "--yes", env=env)
        assert refused.exit_code == 2 and "Power it off or isolate it" in refused.output
        assert "nothing was changed" in refused.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"

        planned = _yamori(cfg, "failover", "plan", "--to", "db2", "--json", "--old-primary-down", env=env)
        assert planned.exit_code == 0, planned.output
        plan = json.loads(planned.output)
        assert plan["old_primary"] == "db1" and plan["old_primary_reachable"] is False
        assert plan["expected_loss_bytes"] is None  # the primary's last position is unknown
        keys = [s["key"] for s in plan["steps"]]
        assert keys == ["fence_manual", "promote", "wait_writable", "verify_write", "dns_update", "rebuild"]

        done = _yamori(cfg, "failover", "run", "--to", "db2", "--yes", "--old-primary-down", env=env)
        assert done.exit_code == 0, done.output
        assert "[FAIL]" not in done.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "f"
        assert standby.psql("SELECT count(*) FROM orders") == "2"  # replicated data survived
        assert standby.psql("SELECT promoted FROM yamori_failover_check") == "db2"
        standby.psql("INSERT INTO orders VALUES (3)")  # the application can write
        assert "pg_rewind" in done.output and "pg_basebackup" in done.output

        answer = dns.query.tcp(dns.message.make_query("db.example.test.", "A"), "127.0.0.1", port=dns_port,
                               timeout=5)
        assert [r.to_text() for rrset in answer.answer for r in rrset] == ["192.0.2.3"]


def test_planned_switchover_fences_the_reachable_primary(pg_tmpdir: Path) -> None:
    with replication_pair(pg_tmpdir) as (primary, standby):
        cfg = _config(pg_tmpdir, primary.dsn, standby.dsn)
        primary.psql("CREATE TABLE t (v int); INSERT INTO t SELECT generate_series(1, 1000)")

        wrong = _yamori(cfg, "failover", "run", "--to", "db", "--yes")
        assert wrong.exit_code == 2 and "no [[postgres.servers]] named 'db'" in wrong.output
        to_primary = _yamori(cfg, "failover", "plan", "--to", "db1")
        assert to_primary.exit_code == 2 and "already a primary" in to_primary.output

        dry = _yamori(cfg, "failover", "run", "--to", "db2")
        assert dry.exit_code == 0 and "dry run: nothing was changed" in dry.output
        assert "set db" not in dry.output and "update add" in dry.output  # DNS change spelled out for by-hand use
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"
        assert primary.psql("SHOW default_transaction_read_only") == "off"

        # an application session open on the old primary during the failover
        app = subprocess.Popen([str(primary.bindir / "psql"), "-X", "-h", "127.0.0.1", "-p", str(primary.port),
                                "-U", "postgres", "-c", "SELECT pg_sleep(60)"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ, PGAPPNAME="app"))
        try:
            wait_for(lambda: primary.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'app'")
                     == "1", timeout=10)
            done = _yamori(cfg, "failover", "run", "--to", "db2", "--yes")
            assert done.exit_code == 0, done.output
            assert "1 client session(s) ended" in done.output and "a plain connection is refused" in done.output
            assert app.wait(timeout=10) != 0  # its session was terminated
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
        assert "no data lost" in done.output
        # exactly one server accepts writes
        assert [_writable(primary), _writable(standby)] == [False, True]
        refused = primary.connect_attempt(user="postgres", db="postgres")
        assert "yamori_fenced_no_such_library" in refused.stderr  # new sessions refused, whatever the role
        inside = _past_fence(primary, "INSERT INTO t VALUES (0)")  # and even past the fence: read-only
        assert "read-only transaction" in inside.stderr
        assert standby.psql("SELECT count(*) FROM t") == "1000"
        assert standby.psql("SELECT pg_is_in_recovery()") == "f"
        # nothing of the fence reached the new primary (it is in postgresql.auto.conf, not replicated)
        assert standby.psql("SHOW session_preload_libraries") == ""

        lift = _past_fence(primary, "ALTER SYSTEM RESET session_preload_libraries")
        assert lift.returncode == 0, lift.stderr
        _past_fence(primary, "ALTER SYSTEM RESET default_transaction_read_only")
        _past_fence(primary, "SELECT pg_reload_conf()")
        assert wait_for(lambda: primary.psql("SHOW default_transaction_read_only", check=False) == "off",
                        timeout=10)


def test_a_standby_that_cannot_catch_up_stops_the_run_before_promotion(pg_tmpdir: Path) -> None:
    with replication_pair(pg_tmpdir) as (primary, standby):
        cfg = _config(pg_tmpdir, primary.dsn, standby.dsn)
        # Cut the standby off its primary (primary_conninfo is reloadable since PostgreSQL 13).
        standby.psql("ALTER SYSTEM SET primary_conninfo = ''")
        standby.psql("SELECT pg_reload_conf()")
        wait_for(lambda: primary.psql("SELECT count(*) FROM pg_stat_replication") == "0", timeout=20)
        primary.psql("CREATE TABLE late (v int); INSERT INTO late VALUES (1)")

        planned = _yamori(cfg, "failover", "plan", "--to", "db2", "--json")
        plan = json.loads(planned.output)
        assert plan["expected_loss_bytes"] > 0 and "NOT streaming" in plan["loss_note"]

        stopped = _yamori(cfg, "failover", "run", "--to", "db2", "--yes", "--wait", "2")
        assert stopped.exit_code == 2
        assert "stopped before promoting" in stopped.output and "[FAIL]" in stopped.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"  # not promoted
        assert "stays fenced" in stopped.output and "ALTER SYSTEM RESET session_preload_libraries" in stopped.output
        assert "To finish by hand instead" in stopped.output
        assert [_writable(primary), _writable(standby)] == [False, False]  # fenced, as the message says

        # the same wait covers promotion and the first write: 2 s is too short on a loaded machine
        forced = _yamori(cfg, "failover", "run", "--to", "db2", "--yes", "--wait", "10", "--accept-loss")
        assert forced.exit_code == 0, forced.output
        assert "going on (--accept-loss)" in forced.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "f"
        assert standby.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'late'") == "0"  # the loss


def test_a_primary_yamori_cannot_fully_read_or_cannot_ask_is_never_missed(pg_tmpdir: Path) -> None:
    with replication_pair(pg_tmpdir) as (primary, standby):
        # a role without pg_monitor: the statistics cannot be read, the role still can
        primary.psql("CREATE ROLE watcher LOGIN")
        watcher = primary.dsn.replace("user=postgres", "user=watcher")
        cfg = _config(pg_tmpdir, watcher, standby.dsn)
        planned = _yamori(cfg, "failover", "plan", "--to", "db2", "--json")
        plan = json.loads(planned.output)
        assert planned.exit_code == 2 and plan["old_primary"] == "db1" and plan["old_primary_reachable"]
        assert any("cannot fence it" in b for b in plan["blockers"]), plan["blockers"]
        run = _yamori(cfg, "failover", "run", "--to", "db2", "--yes")
        assert run.exit_code == 2 and "nothing was changed" in run.output

        # `pg status` too: statistics that cannot be read leave the role known
        primary.psql("REVOKE SELECT ON pg_stat_bgwriter FROM PUBLIC")
        status = json.loads(_yamori(cfg, "pg", "status", "--json").output)
        db1 = next(s for s in status["servers"] if s["name"] == "db1")
        assert db1["error"] and "pg_stat_bgwriter" in db1["error"] and db1["role"] == "primary"

        # the role question itself fails: the plan is blocked, not "no primary here"
        primary.psql("REVOKE EXECUTE ON FUNCTION pg_is_in_recovery() FROM PUBLIC")
        planned = _yamori(cfg, "failover", "plan", "--to", "db2", "--json")
        plan = json.loads(planned.output)
        assert planned.exit_code == 2
        assert any("cannot say whether it is a primary" in b for b in plan["blockers"]), plan["blockers"]
        run = _yamori(cfg, "failover", "run", "--to", "db2", "--yes")
        assert run.exit_code == 2 and "nothing was changed" in run.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"
        assert [_writable(primary), _writable(standby)] == [True, False]


def test_paused_replay_beyond_the_bound_is_refused_and_nothing_changes(pg_tmpdir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with replication_pair(pg_tmpdir) as (primary, standby):
        cfg = _config(pg_tmpdir, primary.dsn, standby.dsn)
        with open(cfg, "a", encoding="utf-8") as f:
            f.write("[postgres.failover]\nmax_lag_bytes = 1048576\nmax_replay_age = \"10m\"\n")
        standby.psql("SELECT pg_wal_replay_pause()")
        primary.psql("CREATE TABLE bulk AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g")
        planned = _yamori(cfg, "failover", "plan", "--to", "db2", "--json")
        plan = json.loads(planned.output)
        assert planned.exit_code == 2 and plan["expected_loss_bytes"] > 1048576
        assert any("max_lag_bytes" in b for b in plan["blockers"]), plan["blockers"]

        run = _yamori(cfg, "failover", "run", "--to", "db2", "--yes")
        assert run.exit_code == 2 and "--accept-loss" in run.output and "nothing was changed" in run.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"
        assert standby.psql("SELECT pg_is_wal_replay_paused()") == "t"
        assert primary.psql("SHOW session_preload_libraries") == ""
        assert primary.psql("SHOW default_transaction_read_only") == "off"
        assert [_writable(primary), _writable(standby)] == [True, False]

        accepted = _yamori(cfg, "failover", "plan", "--to", "db2", "--accept-loss")
        assert accepted.exit_code == 0, accepted.output

        # at a terminal, --yes still wants the standby's name typed
        monkeypatch.setattr("yamori.cli.failover._is_terminal", lambda: True)
        typo = CliRunner().invoke(cli, ["-c", str(cfg), "failover", "run", "--to", "db2", "--yes", "--accept-loss"],
                                  input="db1\n")
        assert typo.exit_code == 2 and "not confirmed; nothing was changed" in typo.output
        assert "expected data loss" in typo.output  # the plan was printed first
        assert standby.psql("SELECT pg_is_in_recovery()") == "t"
        assert primary.psql("SHOW session_preload_libraries") == ""
