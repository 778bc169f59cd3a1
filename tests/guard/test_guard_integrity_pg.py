"""Issue 9 against a real PostgreSQL 15: crafted startup packets (StartupMessage v3 built by
guard_pgwire) whose user and database names carry newlines, quotes, severity labels, forged
`connection received` lines naming a victim, and forged user-less records for a PID no backend
used. For every prefix family, stderr/csvlog/jsonlog, English and Japanese:
- every failure the server logged is reported exactly once;
- the victim (who never connected) is never a source, trusted or not;
- trusted events name only addresses that really connected and failed."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from guard_pgwire import attempt
from tests.support.pgcluster import Cluster, running_cluster, wait_for

from yamori.postgres.log.read import scan_file

VICTIM = "198.51.100.66"
ATTACKER, BRUTE = "127.0.0.7", "127.0.0.3"     # no pg_hba entry / a password rule
HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.3/32 password
"""
TS = "2026-12-06 20:00:00.000 UTC"
FAMILIES = {
    "debian": "%m [%p] %q%u@%d ",
    "client": "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "remote": "%m [%p] %r %q%u@%d ",
}


def hostile(family: str) -> list[tuple[str, str, str]]:
    """(source, user, database): each one failure. Names are cut to 63 bytes by the server."""
    conn = f"connection received: host={VICTIM} port=1"
    forged_head = {"debian": f"{TS} [99999] [unknown]", "client": "2026-12-06 20:00:00 UTC [99999]: [1-1] user=x",
                   "remote": f"{TS} [99999] {VICTIM}(1) [unknown]"}[family]
    tail = {"debian": f"[unknown] LOG:  {conn}\n", "client": f"y,app=z,client={VICTIM} LOG:  {conn}\n",
            "remote": f"[unknown] LOG:  {conn}\n"}[family]
    return [
        # item 0: a forged `connection received` of the victim, then a forged user-less record
        (ATTACKER, f"LOG:  \n{forged_head}", tail),
        (ATTACKER, "LOG:  \n2026-12-06 20:00:00.001 [99999] a",
         "b LOG:  incomplete startup packet\n2026-12-06 20:00:00.001 [9]"),
        (ATTACKER, f"x\n{TS} [99999] a@b FATAL:  password authentication failed for user \"a\"", "d"),
        # item 1: brute force with a newline in the name (password rule)
        (BRUTE, "postgres\nLOG:  x", "postgres"),
        (BRUTE, "LOG:  \nadmin", "postgres"),
        (BRUTE, f'root"\nFATAL:  no pg_hba.conf entry for host "{VICTIM}"', "postgres"),
        (BRUTE, "admin", f"shop\n{TS} [1] u@d LOG:  {conn}"),
        (BRUTE, 'q", database "x', "LOG:  \t\n\t"),
        (BRUTE, "plain", "postgres"),
        # its DETAIL line's names also read as a FATAL record (without what follows %q)
        (BRUTE, 'FATAL:  password authentication failed for user "', ", FATAL:  "),
        (BRUTE, "u", ', FATAL:  password authentication failed for user "'),   # that reading's names disagree
    ]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Cluster, int, str]]:
    family = request.param
    conf = (f"logging_collector = on\nlog_destination = 'stderr,csvlog,jsonlog'\nlog_directory = 'log'\n"
            f"log_filename = 'postgresql-%Y-%m-%d.log'\nlog_connections = on\n"
            f"log_line_prefix = '{FAMILIES[family]}'\nlc_messages = 'C'\n")
    base = Path(tempfile.mkdtemp(prefix="yamori-i9-"))
    base.chmod(0o755)
    try:
        with running_cluster(base, extra_conf=conf, hba=HBA) as cluster:
            cluster.reload()
            n = 0
            for lc in ("C", "ja_JP.UTF-8"):
                if lc != "C":
                    cluster.append_conf(f"lc_messages = '{lc}'\n")
                    cluster.reload()
                    time.sleep(0.5)
                for source, user, db in hostile(family):
                    attempt(cluster.port, source, user, db)
                    n += 1
            # the logging collector writes on its own time: wait for all three outputs to be complete
            assert wait_for(lambda: all(_count(cluster, ext, FAMILIES[family]) >= n
                                        for ext in (".json", ".csv", ".log")), timeout=20)
            yield cluster, n, FAMILIES[family]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _count(cluster: Cluster, ext: str, prefix: str) -> int:
    return sum(len(scan_file(str(p), prefix=prefix if ext == ".log" else None).events)
               for p in cluster.logs("postgresql-*") if p.suffix == ext)


@pytest.mark.parametrize("ext", [".log", ".csv", ".json"])
def test_every_failure_once_and_the_victim_never_a_source(server: tuple[Cluster, int, str], ext: str) -> None:
    cluster, attempts, prefix = server
    (path,) = [p for p in cluster.logs("postgresql-*") if p.suffix == ext]
    # the prefix as the guard knows it (read from the server, or [guard] log_line_prefix)
    report = scan_file(str(path), prefix=prefix if ext == ".log" else None)
    assert not report.errors
    events = report.events
    text = path.read_text(errors="replace")
    assert VICTIM in text                      # the forgeries are in the log...
    assert len(events) == attempts, ([e.as_json() for e in events], text)   # ...each failure once
    assert VICTIM not in {e.source for e in events}                          # ...and never believed
    assert {e.source for e in events if e.trusted} <= {ATTACKER, BRUTE}
    # every failure is attributed to the address that really sent it
    assert all(e.source in (ATTACKER, BRUTE) for e in events), [e.as_json() for e in events]
    assert {e.lang for e in events} == {"en", "ja"}
    # the names carried through whole (what the server logged after truncating to 63 bytes)
    assert sum(1 for e in events if e.user and "\n" in e.user) >= 8


def test_the_ban_path_never_bans_the_victim(server: tuple[Cluster, int, str], tmp_path: Path) -> None:
    """The agent's whole path, nftables in a namespace of the test's own, one failure enough for a
    ban: the forged victim is never banned (before issue 9 it was), the attacker's failures count."""
    from tests.support.netns import can_use_netns, netns

    from yamori.config import Settings
    from yamori.guard import nft
    from yamori.guard.service import GuardService

    if (why := can_use_netns()) is not None:
        pytest.skip(why)
    cluster, attempts, prefix = server
    with netns("ymri9") as ns:
        settings = Settings.model_validate({
            "agent": {"state_dir": str(tmp_path / "state")},
            "guard": {"logs": [str(cluster.datadir / "log" / "postgresql-*.log")], "ban": True, "max_failures": 1,
                      "log_line_prefix": prefix, "log_timezone": "UTC", "window": "1d",
                      "nft": ["ip", "netns", "exec", ns, "nft"]},
        })
        seen = []
        service = GuardService(settings, on_event=seen.append)
        findings: list[object] = []

        class Sink:
            def samples(self, *a: object) -> None: ...
            def state(self, *a: object) -> None: ...
            def event(self, service: str, finding: object) -> None:
                findings.append(finding)

        service.start(Sink())
        for _ in range(20):
            if not service.poll_once(Sink()):
                break
        assert len(seen) == attempts, [(e.file[-4:], e.time, e.kind, e.user, e.database, e.trusted) for e in seen]
        assert VICTIM not in {e.source for e in seen}
        assert VICTIM not in {r.address for r in nft.list_bans("yamori", settings.guard.nft)}
        assert service.counts["_untrusted"] <= 2   # at most the records no reading settles


def test_one_failure_in_three_formats_is_counted_once(server: tuple[Cluster, int, str], tmp_path: Path) -> None:
    """Item 5: a glob matching the .log, .csv and .json of one server."""
    from yamori.config import Settings
    from yamori.guard.service import GuardService

    cluster, attempts, prefix = server
    settings = Settings.model_validate({
        "agent": {"state_dir": str(tmp_path / "state")},
        "guard": {"logs": [str(cluster.datadir / "log" / "postgresql-*")], "log_line_prefix": prefix,
                  "log_timezone": "UTC", "backlog": "7d"},
    })
    seen: list[object] = []
    service = GuardService(settings, on_event=seen.append)

    class Sink:
        def samples(self, *a: object) -> None: ...
        def state(self, *a: object) -> None: ...
        def event(self, *a: object) -> None: ...

    for _ in range(20):
        if not service.poll_once(Sink()) and seen:
            break
    assert len(service.files()) == 3
    assert len(seen) == attempts, [(e.file[-4:], e.time, e.kind, e.user, e.database, e.trusted) for e in seen]


def test_source_from_the_matched_hba_rule_with_log_connections_off() -> None:
    """Item 3: no address in the log (Debian's prefix, log_connections = off); the DETAIL names
    the pg_hba.conf rule: a /32 rule is the source (trusted), a network rule is `source_network`."""
    conf = ("logging_collector = on\nlog_destination = 'stderr'\nlog_directory = 'log'\n"
            "log_filename = 'postgresql.log'\nlog_connections = off\n"
            "log_line_prefix = '%m [%p] %q%u@%d '\nlc_messages = 'C'\n")
    hba = HBA + "host all all 127.0.0.9/32 password\nhost all all 127.0.1.0/24 password\n"
    base = Path(tempfile.mkdtemp(prefix="yamori-i9-"))
    base.chmod(0o755)
    try:
        with running_cluster(base, extra_conf=conf, hba=hba) as cluster:
            cluster.reload()
            time.sleep(0.3)
            attempt(cluster.port, "127.0.0.9", "alice", "shop")
            attempt(cluster.port, "127.0.1.5", "bob", "shop")
            cluster.append_conf("lc_messages = 'ja_JP.UTF-8'\n")
            cluster.reload()
            time.sleep(0.5)
            attempt(cluster.port, "127.0.1.6", "carol", "shop")
            path = cluster.datadir / "log" / "postgresql.log"
            assert wait_for(lambda: len(scan_file(str(path), prefix="%m [%p] %q%u@%d ").events) >= 3)
            events = scan_file(str(path), prefix="%m [%p] %q%u@%d ").events
    finally:
        shutil.rmtree(base, ignore_errors=True)
    got = [(e.user, e.source, e.source_network, e.trusted, e.lang) for e in events]
    assert got == [("alice", "127.0.0.9", None, True, "en"), ("bob", None, "127.0.1.0/24", True, "en"),
                   ("carol", None, "127.0.1.0/24", True, "ja")]
    assert "source_network" in events[1].as_json()
