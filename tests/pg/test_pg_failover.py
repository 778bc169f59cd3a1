"""Guided failover against a real primary + streaming standby, and DNS against a real BIND."""

from __future__ import annotations

import json
from pathlib import Path

import dns.message
import dns.query
from click.testing import CliRunner
from tests.pg.pgsupport import TSIG_SECRET, replication_pair, running_named, write_config
from tests.support.pgcluster import wait_for

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


def _yamori(cfg: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-c", str(cfg), *args], env=env)


def test_failover_with_primary_down_promotes_writes_and_updates_dns(pg_tmpdir: Path) -> None:
    with replication_pair(pg_tmpdir) as (primary, standby), running_named(pg_tmpdir) as dns_port:
        primary.psql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)")
        cfg = _config(pg_tmpdir, primary.dsn, standby.dsn, dns_port)
        env = {"YAMORI_TEST_TSIG": TSIG_SECRET}
        primary.stop("immediate")

        planned = _yamori(cfg, "failover", "plan", "--to", "db2", "--json", env=env)
        assert planned.exit_code == 0, planned.output
        plan = json.loads(planned.output)
        assert plan["old_primary"] == "db1" and plan["old_primary_reachable"] is False
        assert plan["expected_loss_bytes"] is None  # the primary's last position is unknown
        keys = [s["key"] for s in plan["steps"]]
        assert keys == ["fence_manual", "promote", "wait_writable", "verify_write", "dns_update", "rebuild"]

        done = _yamori(cfg, "failover", "run", "--to", "db2", "--yes", env=env)
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

        done = _yamori(cfg, "failover", "run", "--to", "db2", "--yes")
        assert done.exit_code == 0, done.output
        assert "no data lost" in done.output
        assert primary.psql("SHOW default_transaction_read_only") == "on"  # fenced
        refused = primary.run(primary.bindir / "psql", "-X", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                              "postgres", "-c", "INSERT INTO t VALUES (0)", check=False)
        assert "read-only transaction" in refused.stderr
        assert standby.psql("SELECT count(*) FROM t") == "1000"
        assert standby.psql("SELECT pg_is_in_recovery()") == "f"


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
        assert primary.psql("SHOW default_transaction_read_only") == "on"  # fenced, as the message says

        forced = _yamori(cfg, "failover", "run", "--to", "db2", "--yes", "--wait", "2", "--accept-loss")
        assert forced.exit_code == 0, forced.output
        assert "going on (--accept-loss)" in forced.output
        assert standby.psql("SELECT pg_is_in_recovery()") == "f"
        assert standby.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'late'") == "0"  # the loss
