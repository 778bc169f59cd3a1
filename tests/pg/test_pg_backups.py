"""Backups against a real server: WAL archive freshness, and restore tests of real pg_dump output."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

from click.testing import CliRunner
from tests.pg.pgsupport import write_config
from tests.support.pgcluster import _chown, running_cluster, wait_for

from yamori.cli import cli
from yamori.config.postgres import BackupEntry, PostgresSettings
from yamori.postgres.backups import BackupsProbe, backup_findings, scan_backups
from yamori.postgres.restore import dump_format


def test_wal_archive_dumps_and_restore_tests(pg_tmpdir: Path) -> None:
    archive, dumps = pg_tmpdir / "archive", pg_tmpdir / "dumps"
    archive.mkdir()
    dumps.mkdir()
    _chown(pg_tmpdir)
    conf = f"wal_level = replica\narchive_mode = on\narchive_command = 'cp %p {archive}/%f'\n"
    with running_cluster(pg_tmpdir, extra_conf=conf) as pg:
        # The WAL archive's newest segment is the recovery point a restore could reach.
        pg.psql("CREATE TABLE t (v int); INSERT INTO t VALUES (1); SELECT pg_switch_wal()")
        assert wait_for(lambda: any(archive.glob("0000*")), timeout=20)
        wal = BackupEntry(name="wal", dir=str(archive), pattern="0000000*", rpo="15m")
        assert backup_findings(scan_backups(wal), wal, time.time()) == []
        assert [f.check for f in backup_findings(scan_backups(wal), wal, time.time() + 3600)] == \
            ["postgres.backup_stale"]

        pg.psql("CREATE TABLE customers (id int PRIMARY KEY, name text); "
                "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 500) g")
        custom = dumps / "app-1.dump"
        pg.run(pg.bindir / "pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-Fc",
               "-f", str(custom), "postgres")
        plain = pg.run(pg.bindir / "pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                       "postgres").stdout
        gz = dumps / "app-2.sql.gz"
        gz.write_bytes(gzip.compress(plain.encode()))
        assert (dump_format(custom), dump_format(gz)) == ("custom", "plain-gzip")

        cfg = write_config(pg_tmpdir / "yamori.toml", f"""
        [[postgres.backups]]
        name = "nightly"
        dir = "{dumps}"
        pattern = "app-*"
        restore_dsn = "{pg.dsn}"
        """)
        os.utime(custom, (time.time() - 60, time.time() - 60))  # the gzip dump is the newest
        ok = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "restore-test", "nightly"])
        assert ok.exit_code == 0, ok.output
        assert "plain-gzip dump restored: 2 tables" in ok.output
        assert pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'yamori_restore_%'") == "0"

        # A dump cut short by a full disk: the newest file, and the restore must say it failed.
        broken = dumps / "app-3.dump"
        broken.write_bytes(custom.read_bytes()[: custom.stat().st_size // 2])
        settings = PostgresSettings.model_validate({"backups": [
            {"name": "nightly", "dir": str(dumps), "pattern": "app-*", "restore_dsn": pg.dsn}]})
        probe = BackupsProbe(settings)
        records = list(probe.collect())
        checks = {getattr(r, "check", None) for r in records}
        assert "postgres.restore_failed" in checks
        assert "postgres.restore_failed" not in {getattr(r, "check", None) for r in probe.collect()}  # not due yet
        assert pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'yamori_restore_%'") == "0"
        failed = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "restore-test", "nightly"])
        assert failed.exit_code == 2 and "FAILED: pg_restore exited" in failed.output
