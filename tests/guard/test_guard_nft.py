"""Real nftables in a namespace the test creates: a source is banned, its packets are then dropped,
unban lifts it, an allowlisted source is never banned, bans come back after a 'reboot'."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.netns import netns, ns_run

from yamori.config import Settings
from yamori.guard import nft
from yamori.guard.service import GuardService
from yamori.records import Finding, Sample

ATTACKER, FRIEND, SERVER = "192.0.2.10", "192.0.2.20", "192.0.2.1"


class ListSink:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def samples(self, service: str, samples: list[Sample]) -> None:
        pass

    def event(self, service: str, finding: Finding) -> None:
        self.findings.append(finding)

    def state(self, service: str, findings: list[Finding]) -> None:
        pass


@pytest.fixture
def lan() -> Iterator[tuple[str, str]]:
    with netns("ymrsrv") as srv, netns("ymrcli") as cli:
        veth = f"v{srv[-8:]}"
        subprocess.run(["ip", "link", "add", veth, "netns", srv, "type", "veth", "peer", "name", "peer0",
                        "netns", cli], check=True)
        ns_run(srv, "ip", "addr", "add", f"{SERVER}/24", "dev", veth)
        ns_run(srv, "ip", "link", "set", veth, "up")
        ns_run(cli, "ip", "addr", "add", f"{ATTACKER}/24", "dev", "peer0")
        ns_run(cli, "ip", "addr", "add", f"{FRIEND}/24", "dev", "peer0")
        ns_run(cli, "ip", "link", "set", "peer0", "up")
        server = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, "-c", LISTEN, SERVER],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            yield srv, cli
        finally:
            server.kill()   # by its PID
            server.wait(timeout=10)


CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], 5432), timeout=1, source_address=(sys.argv[2], 0)).close()
except OSError:
    sys.exit(1)
"""
LISTEN = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5432)); s.listen(16); print("ready", flush=True)
while True:
    s.accept()[0].close()
"""


def reaches(cli: str, source: str, tries: int = 1) -> bool:
    """A TCP connection from `source` to the server's port 5432 in the other namespace."""
    for _ in range(tries):
        if ns_run(cli, sys.executable, "-c", CONNECT, SERVER, source, check=False).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def failure_lines(source: str, n: int, start_pid: int) -> str:
    out = []
    for pid in range(start_pid, start_pid + n):
        out.append(f"2026-11-25 10:00:00.000 UTC [{pid}] [unknown]@[unknown] LOG:  connection received: "
                   f"host={source} port=5000\n")
        out.append(f'2026-11-25 10:00:00.001 UTC [{pid}] postgres@postgres FATAL:  no pg_hba.conf entry for host '
                   f'"{source}", user "postgres", database "postgres", no encryption\n')
    return "".join(out)


def make_settings(tmp: Path, srv: str, log: Path) -> Settings:
    return Settings.model_validate({
        "agent": {"state_dir": str(tmp / "state")},
        "inventory": {"allowlist": [f"{FRIEND}/32"]},
        "guard": {"logs": [str(log)], "ban": True, "max_failures": 3, "window": "1h", "log_format": "stderr",
                  "nft": ["ip", "netns", "exec", srv, "nft"], "ban_time": "10m"},
    })


def test_ban_drops_packets_unban_restores(lan: tuple[str, str], tmp_path: Path) -> None:
    srv, cli = lan
    log = tmp_path / "postgresql.log"
    log.write_text("")
    settings = make_settings(tmp_path, srv, log)
    clock = [1795600800.0]   # 2026-11-25 10:00 UTC, when the lines were "written"
    service = GuardService(settings, clock=lambda: clock[0])
    sink = ListSink()
    service.start(sink)
    assert not [f for f in sink.findings if f.check == "guard.nft_unavailable"]
    assert reaches(cli, ATTACKER, tries=15) and reaches(cli, FRIEND)
    log.write_text(failure_lines(ATTACKER, 3, 100) + failure_lines(FRIEND, 6, 200))
    events = service.poll_once(sink)
    assert len(events) == 9
    banned = {r.address for r in nft.list_bans("yamori", settings.guard.nft)}
    assert banned == {ATTACKER}
    assert not reaches(cli, ATTACKER)
    assert reaches(cli, FRIEND)            # allowlisted: never banned
    # a reboot: the kernel forgets the set; a new agent re-applies the persisted ban
    ns_run(srv, "nft", "delete", "table", "inet", "yamori")
    assert reaches(cli, ATTACKER)
    GuardService(settings, clock=lambda: clock[0]).start(ListSink())
    assert {r.address for r in nft.list_bans("yamori", settings.guard.nft)} == {ATTACKER}
    assert not reaches(cli, ATTACKER)
    assert nft.unban_address("yamori", ATTACKER, settings.agent.state_dir, settings.guard.nft)
    assert reaches(cli, ATTACKER)
    assert nft.list_bans("yamori", settings.guard.nft) == []


def test_without_nft_privileges_the_guard_keeps_reporting(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    log.write_text(failure_lines(ATTACKER, 3, 100))
    settings = make_settings(tmp_path, "no-such-netns", log)
    service = GuardService(settings)
    sink = ListSink()
    service.start(sink)
    assert [f.check for f in sink.findings] == ["guard.nft_unavailable"]
    assert "cannot be applied" in sink.findings[0].message
    assert len(service.poll_once(sink)) == 3


def test_nft_never_receives_a_host_name() -> None:
    for bad in ("999.1.1.1", "example.com", "1.2.3.4; flush ruleset", ""):
        with pytest.raises(ValueError):
            nft.plan_ban("yamori", bad, 60, "x")
