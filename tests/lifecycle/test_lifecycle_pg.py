"""The lifecycle probe asks each [postgres] server for its major (a real cluster on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.support.pgcluster import free_port, pg_bindir, running_cluster

from yamori.config import parse_config
from yamori.lifecycle.probe import LifecycleProbe, major_of, probes
from yamori.records import Finding, Severity


def test_major_of() -> None:
    assert (major_of(150004), major_of(90624), major_of(100000), major_of(180001)) == ("15", "9.6", "10", "18")


def test_servers_major_is_checked(pg_tmpdir: Path) -> None:
    major = pg_bindir().parent.name  # the server this machine has, e.g. 15
    lib = pg_tmpdir / "lib"
    (lib / "13" / "bin").mkdir(parents=True)
    (lib / "13" / "bin" / "postgres").touch()
    with running_cluster(pg_tmpdir) as pg:
        settings = parse_config(
            f'[[postgres.servers]]\nname = "db1"\ndsn = "{pg.dsn}"\n'
            f'[[postgres.servers]]\nname = "gone"\ndsn = "host=127.0.0.1 port={free_port()} user=postgres"\n'
            f'[environment.lifecycle]\npostgres_lib = "{lib}"\nos_release = "{pg_tmpdir / "none"}"\n')
        (probe,) = [p for p in probes(settings) if p.name == "lifecycle"]
        assert isinstance(probe, LifecycleProbe)
        probe.clock = lambda: datetime(2026, 12, 6, 12, tzinfo=UTC).timestamp()
        found = {r.subject: r for r in probe.collect() if isinstance(r, Finding)}
    server = found[f"postgresql {major}"]
    assert server.message.endswith("(db1)")
    installed = found["postgresql 13"]
    assert installed.severity == Severity.CRITICAL and installed.message.endswith("(installed here)")
    assert found["os"].check == "lifecycle.os_unknown"
