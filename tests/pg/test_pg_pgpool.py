"""pgpool-II in native replication mode over two real backends, as in incident 9."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from tests.pg.pgsupport import replication_pair, running_pgpool, write_config
from tests.support.pgcluster import Cluster, wait_for

from yamori.cli import cli
from yamori.config.postgres import PostgresSettings
from yamori.postgres.db import Unreachable
from yamori.postgres.failover.apply import RunOptions, fence_pcp
from yamori.postgres.failover.plan import Step
from yamori.postgres.pgpool import read_pool_nodes


def _any_down(dsn: str) -> bool:
    try:
        return any(n.down for n in read_pool_nodes(dsn))
    except Unreachable:  # pgpool refuses sessions while it is executing the failover
        return False


def _status(cfg: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "status", "--json"])
    return result.exit_code, json.loads(result.output)


def test_native_replication_backend_down_is_critical(pg_tmpdir: Path) -> None:
    one = Cluster(pg_tmpdir, "server1").init().start()
    two = Cluster(pg_tmpdir, "server2").init().start()
    try:
        with running_pgpool(pg_tmpdir, [one, two]) as pool:
            dsn = f"host=127.0.0.1 port={pool.port} user=postgres dbname=postgres"
            cfg = write_config(pg_tmpdir / "yamori.toml", f"""
            [postgres]
            connect_timeout = 3
            [postgres.pgpool]
            dsn = "{dsn}"
            """)
            nodes = read_pool_nodes(dsn)
            assert [(n.node_id, n.port, n.down) for n in nodes] == [(0, one.port, False), (1, two.port, False)]
            assert {n.role for n in nodes} == {"main", "replica"}  # native replication mode's roles

            # Writes through pgpool reach both servers: that is the redundancy the check protects.
            import psycopg
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE visits (n int)")
                conn.execute("INSERT INTO visits VALUES (1)")
            assert one.psql("SELECT count(*) FROM visits") == two.psql("SELECT count(*) FROM visits") == "1"

            code, data = _status(cfg)
            assert code == 0, data["findings"]
            assert [n["status"] for n in data["pgpool"]] in (["up", "up"], ["up", "waiting"], ["waiting", "up"])

            two.stop("immediate")
            # The health check (period 1s) marks the backend down; pgpool then degenerates it.
            assert wait_for(lambda: _any_down(dsn), timeout=20, interval=0.3)
            code, data = _status(cfg)
            [finding] = [f for f in data["findings"] if f["check"] == "pgpool.backend_down"]
            assert finding["severity"] == "critical" and str(two.port) in finding["subject"]
            assert finding["probe"] == "postgres.pgpool"
            assert code == 2
    finally:
        for c in (one, two):
            c.stop("immediate")
            c.kill()


def test_failover_fence_detaches_the_old_primary_through_pcp(pg_tmpdir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    one = Cluster(pg_tmpdir, "server1").init().start()
    two = Cluster(pg_tmpdir, "server2").init().start()
    try:
        with running_pgpool(pg_tmpdir, [one, two]) as pool:
            monkeypatch.setenv("PCPPASSFILE", str(pool.pcppass))
            settings = PostgresSettings.model_validate({
                "servers": [{"name": "db1", "dsn": one.dsn}, {"name": "db2", "dsn": two.dsn}],
                "pgpool": {"dsn": f"host=127.0.0.1 port={pool.port} user=postgres dbname=postgres",
                           "pcp_host": "127.0.0.1", "pcp_port": pool.pcp_port, "pcp_user": "pgpool"}})
            message = fence_pcp(Step("fence_pcp", "db2", "detach db2", ""), settings, RunOptions())
            assert message == "pgpool node 1 detached"
            assert wait_for(lambda: _any_down(settings.pgpool.dsn), timeout=20, interval=0.3)
            assert [n.status for n in read_pool_nodes(settings.pgpool.dsn)] == ["up", "down"]
            assert two.psql("SELECT 1") == "1"  # detached in the pool, the server itself still runs
    finally:
        for c in (one, two):
            c.stop("immediate")
            c.kill()


def test_streaming_mode_shows_roles_and_replication_delay(pg_tmpdir: Path) -> None:
    with replication_pair(pg_tmpdir) as (primary, standby), \
            running_pgpool(pg_tmpdir, [primary, standby], "streaming_replication", ["primary", "standby1"]) as pool:
        dsn = f"host=127.0.0.1 port={pool.port} user=postgres dbname=postgres"
        assert [(n.role, n.down) for n in read_pool_nodes(dsn)] == [("primary", False), ("standby", False)]
        standby.psql("SELECT pg_wal_replay_pause()")
        primary.psql("CREATE TABLE filler AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 20000) g")

        def delayed() -> bool:
            try:
                node = read_pool_nodes(dsn)[1]
            except Unreachable:
                return False
            return (node.replication_delay or "0").isdigit() and int(node.replication_delay or 0) > 100_000

        assert wait_for(delayed, timeout=20, interval=0.3)
        cfg = write_config(pg_tmpdir / "yamori.toml", f"""
        [postgres.thresholds]
        lag_warning_bytes = 100000
        [postgres.pgpool]
        dsn = "{dsn}"
        """)
        code, data = _status(cfg)
        [finding] = [f for f in data["findings"] if f["check"] == "pgpool.replication_delay"]
        assert str(standby.port) in finding["subject"] and code == 1
        assert data["pgpool"][1]["replication_state"] == "streaming"
        standby.psql("SELECT pg_wal_replay_resume()")


def test_pgpool_unreachable_is_critical_not_a_crash(pg_tmpdir: Path) -> None:
    cfg = write_config(pg_tmpdir / "yamori.toml", """
    [postgres.pgpool]
    dsn = "host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=2"
    """)
    code, data = _status(cfg)
    assert code == 2 and data["pgpool_error"]
    assert [f["check"] for f in data["findings"]] == ["pgpool.unreachable"]
