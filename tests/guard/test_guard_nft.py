"""Real nftables in a namespace the test creates: a source is banned, its packets are then dropped,
unban lifts it, an allowlisted source is never banned, bans come back after a 'reboot'."""

from __future__ import annotations

import ipaddress
import json
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


# -- what the host depends on is never banned; a ban blocks new connections only ---------------

RESOLVER, GATEWAY, HOOK, INVHOST, INVNET_HOST = "192.0.2.30", "192.0.2.40", "192.0.2.50", "192.0.2.60", "192.0.2.70"
ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5433)); s.listen(4); print("ready", flush=True)
c = s.accept()[0]
while data := c.recv(100):
    c.sendall(data)
"""
HOLD = """
import socket, sys
c = socket.create_connection((sys.argv[1], 5433), timeout=5, source_address=(sys.argv[2], 0))
c.sendall(b"a"); print(c.recv(10).decode(), flush=True)
sys.stdin.readline()
c.sendall(b"b"); print(c.recv(10).decode(), flush=True)
"""


def host_root(tmp: Path) -> tuple[Path, Path]:
    """An etc/resolv.conf and a proc/net/route laid out like the real ones (header and columns
    as the kernel writes them), naming RESOLVER and GATEWAY."""
    root, proc = tmp / "root", tmp / "proc"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "resolv.conf").write_text(f"# written by the test\nsearch example.org\nnameserver {RESOLVER}\n")
    (proc / "net").mkdir(parents=True)
    gw = ipaddress.IPv4Address(GATEWAY).packed[::-1].hex().upper()
    (proc / "net" / "route").write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        f"eth0\t00000000\t{gw}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    (proc / "net" / "ipv6_route").write_text(
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "20010db8000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n")
    return root, proc


def protected_settings(tmp: Path, srv: str, log: Path, proc: Path) -> Settings:
    return Settings.model_validate({
        "agent": {"state_dir": str(tmp / "state"), "proc": str(proc)},
        "alerts": {"email": {"host": "127.0.0.1"}, "webhook": {"url": f"http://{HOOK}:8080/hook"}},
        "inventory": {"hosts": [{"name": "db2", "addresses": [INVHOST]}],
                      "networks": [{"name": "office", "cidr": f"{INVNET_HOST}/32", "role": "office"}]},
        "guard": {"logs": [str(log)], "ban": True, "max_failures": 3, "window": "1h", "log_format": "stderr",
                  "nft": ["ip", "netns", "exec", srv, "nft"], "ban_time": "10m"},
    })


def test_what_the_host_depends_on_is_never_banned(lan: tuple[str, str], tmp_path: Path) -> None:
    srv, cli = lan
    ns_run(cli, "ip", "addr", "add", f"{RESOLVER}/24", "dev", "peer0")
    log = tmp_path / "postgresql.log"
    log.write_text("")
    root, proc = host_root(tmp_path)
    settings = protected_settings(tmp_path, srv, log, proc)
    # a ban persisted earlier (a forged log read by an older version) naming the resolver is lifted
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "guard-bans.json").write_text(json.dumps({RESOLVER: {"until": 1795604400.0,
                                                                              "offense": 1}}))
    clock = [1795600800.0]
    service = GuardService(settings, clock=lambda: clock[0], root=root)
    sink = ListSink()
    service.start(sink)
    assert [f.check for f in sink.findings] == ["guard.ban_refused"]
    assert "DNS resolver" in sink.findings[0].message
    assert reaches(cli, RESOLVER, tries=15)
    lines = "".join(failure_lines(a, 4, 100 + 10 * i)
                    for i, a in enumerate((RESOLVER, GATEWAY, HOOK, INVHOST, INVNET_HOST, "2001:db8::1", ATTACKER)))
    log.write_text(lines)
    assert len(service.poll_once(sink)) == 28
    assert {r.address for r in nft.list_bans("yamori", settings.guard.nft)} == {ATTACKER}
    refused = {f.subject: f.message for f in sink.findings if f.check == "guard.ban_refused"}
    assert "DNS resolver" in refused[RESOLVER]
    assert "gateway" in refused[GATEWAY] and "gateway" in refused["2001:db8::1"]
    assert "webhook host" in refused[HOOK]
    assert "inventory host db2" in refused[INVHOST]
    assert INVNET_HOST not in refused   # an operator network: never even counted toward a ban
    assert reaches(cli, RESOLVER)
    assert not reaches(cli, ATTACKER)
    assert json.loads((tmp_path / "state" / "guard-bans.json").read_text()).keys() == {ATTACKER}


def test_a_ban_leaves_established_connections_alone(lan: tuple[str, str], tmp_path: Path) -> None:
    srv, cli = lan
    echo = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, "-c", ECHO, SERVER],
                            stdout=subprocess.PIPE, text=True)
    hold = None
    try:
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        log = tmp_path / "postgresql.log"
        log.write_text("")
        root, proc = host_root(tmp_path)
        settings = protected_settings(tmp_path, srv, log, proc)
        service = GuardService(settings, clock=lambda: 1795600800.0, root=root)
        service.start(ListSink())   # the table exists (connection tracking on) before the session starts
        hold = subprocess.Popen(["ip", "netns", "exec", cli, sys.executable, "-c", HOLD, SERVER, ATTACKER],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert hold.stdout is not None and hold.stdin is not None
        assert hold.stdout.readline().strip() == "a"
        log.write_text(failure_lines(ATTACKER, 3, 100))
        service.poll_once(ListSink())
        assert {r.address for r in nft.list_bans("yamori", settings.guard.nft)} == {ATTACKER}
        assert not reaches(cli, ATTACKER)           # new connections: dropped
        hold.stdin.write("go\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "b"   # the established one: untouched
        assert hold.wait(timeout=10) == 0
    finally:
        for p in (hold, echo):
            if p is not None and p.poll() is None:
                p.kill()   # by its PID
                p.wait(timeout=10)
