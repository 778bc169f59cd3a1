"""Against a real PostgreSQL 15: stderr, csvlog and jsonlog written by the server itself, English
and Japanese lc_messages, connections from several 127.0.0.x sources with hostile names."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from guard_pgwire import attempt
from tests.support.pgcluster import Cluster, running_cluster, wait_for

from yamori.postgres.log.read import scan_file

HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.2/32 reject
host all all 127.0.0.3/32 password
host all all 127.0.0.5/32 password
"""
CONF = """\
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = 'log'
log_filename = 'postgresql-%Y-%m-%d.log'
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
"""
FORGED = 'inj\n2026-11-24 00:00:00.000 UTC [1] a@b FATAL:  password authentication failed for user "a"'
EVIL = 'evil", database "postgres", no encryption'


def attacks(port: int) -> None:
    attempt(port, "127.0.0.2", "alice", "shop")                      # hba_reject
    attempt(port, "127.0.0.4", EVIL, "other")                        # no_hba_entry, quotes in the name
    attempt(port, "127.0.0.3", "mallory", "shop")                    # password_failed, role missing
    attempt(port, "127.0.0.5", FORGED, "postgres")                   # newline + a forged record
    attempt(port, "127.0.0.4", "repl", None, replication=True)       # replication: no database
    attempt(port, "127.0.0.6", "", "", raw=b"\0\0\0\2")              # invalid length of startup packet


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="yamori-guard-"))
    base.chmod(0o755)
    try:
        with running_cluster(base, extra_conf=CONF, hba=HBA) as cluster:
            cluster.reload()
            attacks(cluster.port)
            cluster.append_conf("lc_messages = 'ja_JP.UTF-8'\n")
            cluster.reload()
            time.sleep(0.5)
            attacks(cluster.port)
            assert wait_for(lambda: _count(cluster, ".json") >= 10, timeout=15)
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _count(cluster: Cluster, ext: str) -> int:
    files = [p for p in cluster.logs("postgresql-*") if p.suffix == ext]
    return sum(len(scan_file(str(p)).events) for p in files)


def _events(cluster: Cluster, ext: str):  # type: ignore[no-untyped-def]
    (path,) = [p for p in cluster.logs("postgresql-*") if p.suffix == ext]
    report = scan_file(str(path))
    assert not report.errors
    return report


@pytest.mark.parametrize("ext", [".log", ".csv", ".json"])
def test_real_server_every_format(server: Cluster, ext: str) -> None:
    report = _events(server, ext)
    events = report.events
    assert len(events) == 12, [e.as_json() for e in events]
    for lang, half in (("en", events[:6]), ("ja", events[6:])):
        assert {e.lang for e in half[:5]} == {lang}
        reject, evil, pw, forged, repl, noise = half
        assert (reject.kind, reject.source, reject.user, reject.trusted) == ("hba_reject", "127.0.0.2", "alice", True)
        assert (evil.kind, evil.source, evil.user, evil.database) == ("no_hba_entry", "127.0.0.4", EVIL, "other")
        assert evil.trusted
        assert (pw.kind, pw.source, pw.user, pw.role_exists) == ("password_failed", "127.0.0.3", "mallory", False)
        assert (repl.kind, repl.source, repl.database) == ("no_hba_entry", "127.0.0.4", None)
        assert (noise.kind, noise.source) == ("invalid_startup_packet", "127.0.0.6")
        assert forged.kind == "password_failed"
        # stderr too: the record is read whole, its names (quoted in the message) spanning the
        # lines, and attributed through its own backend's connection line (issue 9)
        assert forged.trusted and forged.source == "127.0.0.5" and forged.user == FORGED.encode()[:63].decode()


def test_prefix_and_timezone_read_from_the_server(server: Cluster) -> None:
    from yamori.config import Settings
    from yamori.guard.serverconf import server_log_settings

    settings = Settings.model_validate({"postgres": {"servers": [{"name": "db1", "dsn": server.dsn}]}})
    prefix, zone = server_log_settings(settings)
    assert prefix == "%m [%p] %q%u@%d " and zone
    down = Settings.model_validate({"postgres": {"servers": [{"name": "db1", "dsn": "host=127.0.0.1 port=1"}]}})
    assert server_log_settings(down, timeout=1) == (None, None)


def test_no_trusted_event_names_a_source_that_did_not_connect(server: Cluster) -> None:
    sources = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}
    for ext in (".log", ".csv", ".json"):
        assert {e.source for e in _events(server, ext).events if e.trusted} <= sources


@pytest.mark.parametrize("ext", ["log", "csv", "json"])
def test_service_tails_the_servers_own_files(server: Cluster, tmp_path: Path, ext: str) -> None:
    from yamori.config import Settings
    from yamori.guard.service import GuardService

    settings = Settings.model_validate({
        "agent": {"state_dir": str(tmp_path)},
        "guard": {"logs": [str(server.datadir / "log" / f"postgresql-*.{ext}")]}})
    service = GuardService(settings)
    events = []
    for _ in range(50):   # the tailer reads at most 1 MiB per poll; these files are small
        got = service.poll_once(_Null())
        if not got and events:
            break
        events += got
    assert [(e.kind, e.source) for e in events] == [(e.kind, e.source) for e in _events(server, f".{ext}").events]


class _Null:
    def samples(self, *a: object) -> None:
        pass

    def event(self, *a: object) -> None:
        pass

    def state(self, *a: object) -> None:
        pass
