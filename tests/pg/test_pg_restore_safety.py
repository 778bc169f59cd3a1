"""Restore tests run nothing from the dump: meta-commands refused, a throwaway cluster run by an
unprivileged user with time and size limits, and no password on any command line."""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.pg.pgsupport import write_config
from tests.support.pgcluster import Cluster, _chown, running_cluster

from yamori.cli import cli
from yamori.postgres.dumpcheck import check_lines
from yamori.postgres.restore import client_invocation, restore_sandboxed, restore_test

HOSTILE = [
    "\\! touch {marker}\n",
    "   \\! touch {marker}\n",
    "\t\\! touch {marker}\n",
    "SELECT 1; \\! touch {marker}\n",
    "\\copy (SELECT 1) to program 'touch {marker}'\n",
    "\\o |touch {marker}\n",
    "\\set x `touch {marker}`\n",
    "SET standard_conforming_strings = off;\nSELECT 'a\\''; \\! touch {marker}; SELECT 'b';\n",
    "COPY t (v) FROM stdin;\n1\n\\.\n\\! touch {marker}\n",
]


@pytest.mark.parametrize("line", HOSTILE)
def test_the_check_refuses_every_meta_command_shape(line: str) -> None:
    problem = check_lines(line.format(marker="/tmp/x").splitlines(True))
    assert problem is not None and problem.line >= 1


def test_the_check_passes_what_pg_dump_writes() -> None:
    dump = ("SET standard_conforming_strings = on;\nCREATE TABLE t (v text);\n"
            "COMMENT ON TABLE t IS 'it''s';\nCOPY public.t (v) FROM stdin;\na\\tb\n\\\\! not a command\n\\N\n\\.\n"
            "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $_$ SELECT '\\! in a body' $_$;\n"
            "SELECT E'\\'' AS q;\n")
    assert check_lines(dump.splitlines(True)) is None


def _dumps(pg: Cluster, base: Path) -> tuple[Path, Path]:
    pg.psql("CREATE TABLE customers (id int PRIMARY KEY, name text); "
            "INSERT INTO customers SELECT g, 'c\\' || g FROM generate_series(1, 500) g; CREATE TABLE t (v int)")
    custom = base / "app.dump"
    pg.run(pg.bindir / "pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-Fc", "-f",
           str(custom), "postgres")
    plain = base / "app.sql"
    plain.write_text(pg.run(pg.bindir / "pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                            "postgres").stdout)
    return custom, plain


def test_sandboxed_restore_runs_real_dumps_and_refuses_hostile_ones(pg_tmpdir: Path) -> None:
    dumps = pg_tmpdir / "dumps"
    dumps.mkdir()
    _chown(pg_tmpdir)
    with running_cluster(pg_tmpdir) as pg:
        custom, plain = _dumps(pg, dumps)
    for dump in (custom, plain):
        result = restore_sandboxed(dump, parent=str(pg_tmpdir))
        assert result.ok and result.tables == 2, result.message
    assert not list(pg_tmpdir.glob("yamori-restore-*"))  # the throwaway cluster is gone

    text = plain.read_text()
    for i, line in enumerate(HOSTILE):
        marker = pg_tmpdir / f"MARKER{i}"
        hostile = dumps / f"hostile{i}.sql.gz"
        cut = text.index("CREATE TABLE")  # in the middle of a real dump
        hostile.write_bytes(gzip.compress((text[:cut] + line.format(marker=marker) + text[cut:]).encode()))
        result = restore_sandboxed(hostile, parent=str(pg_tmpdir))
        assert not result.ok and result.message.startswith(f"refused: {hostile}:"), result.message
        assert not marker.exists()

    # SQL that reaches the server runs as the unprivileged sandbox user, not as yamori
    program = dumps / "program.sql"
    server_marker = pg_tmpdir / "SERVER_MARKER"
    program.write_text(f"CREATE TABLE t (v int);\nCOPY (SELECT 1) TO PROGRAM 'touch {server_marker}';\n")
    result = restore_sandboxed(program, parent=str(pg_tmpdir))
    if os.geteuid() == 0:  # as root, the cluster runs as nobody, who cannot write into a root-owned 0755 dir
        assert not result.ok and not server_marker.exists(), result.message


def test_sandbox_time_and_size_limits(pg_tmpdir: Path) -> None:
    slow = pg_tmpdir / "slow.sql"
    slow.write_text("CREATE TABLE t (v int);\nSELECT pg_sleep(30);\n")
    started = time.monotonic()
    result = restore_sandboxed(slow, timeout=2, parent=str(pg_tmpdir))
    assert not result.ok and "longer than 2s" in result.message and time.monotonic() - started < 25
    big = pg_tmpdir / "big.sql"
    big.write_text("CREATE TABLE t AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 200000) g;\n"
                   "SELECT pg_sleep(5);\n")
    result = restore_sandboxed(big, max_bytes=5 * 2**20, parent=str(pg_tmpdir))
    assert not result.ok and "grew beyond 5,242,880 bytes" in result.message, result.message
    assert not list(pg_tmpdir.glob("yamori-restore-*"))


def test_no_password_on_the_command_line(pg_tmpdir: Path) -> None:
    argv, env = client_invocation("plain", Path("/x.sql"), "host=127.0.0.1 port=5 user=u password=hunter2")
    assert "hunter2" not in " ".join(argv) and env["PGPASSWORD"] == "hunter2"
    argv, env = client_invocation("custom", Path("/x.dump"), "postgresql://u:hunter2@127.0.0.1:5/db")
    assert "hunter2" not in " ".join(argv) and env["PGPASSWORD"] == "hunter2"

    with running_cluster(pg_tmpdir) as pg:  # trust auth: the password is carried, not needed
        slow = pg_tmpdir / "slow.sql"
        slow.write_text("CREATE TABLE t (v int);\nSELECT pg_sleep(3);\n")
        dsn = pg.dsn + " password=hunter2-secret"
        seen: list[bytes] = []
        done = threading.Event()

        def spy() -> None:
            me = os.getpid()
            while not done.is_set():
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        stat = Path(f"/proc/{pid}/stat").read_text()
                        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                            seen.append(Path(f"/proc/{pid}/cmdline").read_bytes())
                    except (OSError, ValueError, IndexError):
                        continue
                time.sleep(0.05)

        watcher = threading.Thread(target=spy)
        watcher.start()
        try:
            result = restore_test(slow, dsn)
        finally:
            done.set()
            watcher.join()
        assert result.ok, result.message
        psql = [c for c in seen if b"psql" in c]
        assert psql, "the spawned psql was not seen"
        assert all(b"hunter2" not in c for c in seen)


def test_cli_restore_test_uses_the_throwaway_cluster_by_default(pg_tmpdir: Path) -> None:
    dumps = pg_tmpdir / "dumps"
    dumps.mkdir()
    marker = pg_tmpdir / "CLI_MARKER"
    (dumps / "app-1.sql").write_text(f"CREATE TABLE t (v int);\n\\! touch {marker}\n")
    cfg = write_config(pg_tmpdir / "yamori.toml", f"""
    [[postgres.backups]]
    name = "nightly"
    dir = "{dumps}"
    pattern = "app-*"
    restore_test = true
    """)
    refused = CliRunner().invoke(cli, ["-c", str(cfg), "pg", "restore-test", "nightly"])
    assert refused.exit_code == 2 and "app-1.sql:2: psql meta-command" in refused.output
    assert not marker.exists()
