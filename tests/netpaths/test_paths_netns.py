"""Real components: yamori's `net diagnose` runs inside a server namespace and probes a routed
network of namespaces (switch, NAT router, outside) with a real aiohttp server behind it; faults
are made with tc netem and nftables on one hop at a time."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.netns import can_use_netns, ns_run

from .topology import PYTHON, TARGET, Net, network, process

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

YAMORI = PYTHON.parent / "yamori"

CONFIG = f"""
[agent]
hostname = "server"

[[inventory.hosts]]
name = "sw"
addresses = ["192.0.2.1"]
role = "switch"

[[inventory.hosts]]
name = "rt"
addresses = ["192.0.2.18"]
role = "router"

[[inventory.hosts]]
name = "isp"
addresses = ["198.51.100.10"]
role = "isp"

[[network.paths]]
name = "internet"
hops = ["sw", "rt", "isp"]
targets = ["http://{TARGET}/"]
expect_body = "hello"
timeout = "2s"
"""


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Net, Path]]:
    config = tmp_path_factory.mktemp("netpaths") / "yamori.toml"
    config.write_text(CONFIG)
    with network() as built, process(built.out, str(PYTHON), str(Path(__file__).with_name("http_target.py")),
                                     TARGET, "80", ready="ready"):
        yield built, config


def diagnose(net: Net, config: Path, count: int = 10) -> tuple[int, dict]:
    result = subprocess.run(["ip", "netns", "exec", net.server, str(YAMORI), "-c", str(config), "net", "diagnose",
                             "--json", "--count", str(count)], capture_output=True, text=True, timeout=60)
    assert result.stderr == "" or result.returncode in (0, 1, 2), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_healthy_path_is_ok(net: tuple[Net, Path]) -> None:
    built, config = net
    code, data = diagnose(built, config)
    path = data["paths"][0]
    assert path["verdict"]["state"] == "OK", data
    assert code == 0
    assert [h["name"] for h in path["hops"]] == ["sw", "rt", "isp"]
    assert all(h["icmp"]["received"] == 10 for h in path["hops"])
    target = path["targets"][0]
    assert target["ok"] is True and target["status"] == 200 and target["error"] is None
    assert data["findings"] == []


def test_netem_loss_on_one_segment_names_the_hop_behind_it(net: tuple[Net, Path]) -> None:
    built, config = net
    # loss on the switch's port toward the router: sw answers, rt and everything behind it lose
    with built.loss(built.sw, "swb", 30):
        code, data = diagnose(built, config, count=20)   # P(no echo lost of 20 at 30 %) < 0.1 %
    verdict = data["paths"][0]["verdict"]
    assert verdict["kind"] == "loss", data
    assert verdict["first_bad_hop"] == "rt"
    assert "sw → rt" in verdict["message"]
    assert data["paths"][0]["hops"][0]["icmp"]["loss_percent"] == 0.0
    assert code in (1, 2)
    checks = [f["check"] for f in data["findings"] if f["severity"] != "info"]
    assert checks == ["net.loss"], data["findings"]
    assert data["findings"][0]["subject"] == "internet: sw → rt"


def test_forwarded_tcp80_dropped_on_the_switch_is_divergence_naming_the_switch(net: tuple[Net, Path]) -> None:
    built, config = net
    built.nft(built.sw, "table inet ynpfilter {\n chain ynpfwd {\n  type filter hook forward priority 0;\n"
                        "  tcp dport 80 drop\n }\n}\n")
    try:
        code, data = diagnose(built, config)
    finally:
        ns_run(built.sw, "nft", "delete", "table", "inet", "ynpfilter")
    path = data["paths"][0]
    verdict = path["verdict"]
    assert verdict["kind"] == "divergence", data
    assert verdict["first_bad_hop"] == "sw"
    assert verdict["state"] == "CRITICAL" and code == 2
    assert verdict["message"].startswith("ping works but HTTP fails: not a routing problem")
    assert "sw" in verdict["advice"]
    assert all(h["icmp"]["loss_percent"] == 0.0 for h in path["hops"])   # ICMP passes everywhere
    assert path["targets"][0]["ok"] is False
    assert [f["check"] for f in data["findings"]] == ["net.divergence"]
    assert data["findings"][0]["subject"] == "internet: sw → rt"


def test_router_limiting_new_connections_is_nat_exhaustion_naming_the_router(net: tuple[Net, Path]) -> None:
    built, config = net
    # the router admits at most 3 forwarded connections; two other clients already hold two of them
    built.nft(built.rt, "table inet ynplimit {\n chain ynpfwd {\n  type filter hook forward priority 0;\n"
                        "  ct state new meta l4proto tcp ct count over 3 drop\n }\n}\n")
    holder = ("import socket, time\n"
              f"held = [socket.create_connection(('{TARGET}', 80), timeout=5) for _ in range(2)]\n"
              "print('ready', flush=True)\ntime.sleep(60)\n")
    try:
        with process(built.server, str(PYTHON), "-c", holder, ready="ready"):
            code, data = diagnose(built, config)
    finally:
        ns_run(built.rt, "nft", "delete", "table", "inet", "ynplimit")
    path = data["paths"][0]
    verdict = path["verdict"]
    assert verdict["kind"] == "nat_exhaustion", data
    assert verdict["first_bad_hop"] == "rt"
    assert code == 2
    target = path["targets"][0]
    assert target["held_connection_ok"] is True and target["tcp"]["failed"] == target["tcp"]["attempts"]
    assert all(h["icmp"]["loss_percent"] == 0.0 for h in path["hops"])
    assert [f["check"] for f in data["findings"]] == ["net.nat_exhaustion"]
    assert "rt" in data["findings"][0]["advice"]


def test_router_link_cut_is_one_root_cause_finding(net: tuple[Net, Path]) -> None:
    built, config = net
    ns_run(built.rt, "ip", "link", "set", "rta", "down")
    try:
        code, data = diagnose(built, config)
    finally:
        ns_run(built.rt, "ip", "link", "set", "rta", "up")
    verdict = data["paths"][0]["verdict"]
    assert verdict["kind"] == "unreachable" and verdict["first_bad_hop"] == "rt", data
    assert code == 2
    alerts = [f for f in data["findings"] if f["severity"] != "info"]
    assert len(alerts) == 1, alerts  # not one per hop or target behind the router
    assert alerts[0]["check"] == "net.unreachable" and alerts[0]["subject"] == "internet: sw → rt"
    assert "isp" in alerts[0]["message"] and f"http://{TARGET}/" in alerts[0]["message"]
