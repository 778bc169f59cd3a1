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
targets = ["http://{TARGET}:8080/"]
expect_body = "hello"
timeout = "2s"
"""


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Net, Path]]:
    config = tmp_path_factory.mktemp("netpaths") / "yamori.toml"
    config.write_text(CONFIG)
    with network() as built, process(built.out, str(PYTHON), str(Path(__file__).with_name("http_target.py")),
                                     TARGET, "8080", ready="ready"):
        yield built, config


def diagnose(net: Net, config: Path, *extra: str) -> tuple[int, dict]:
    result = subprocess.run(["ip", "netns", "exec", net.server, str(YAMORI), "-c", str(config), "net", "diagnose",
                             "--json", "--count", "20", *extra], capture_output=True, text=True, timeout=60)
    assert result.stderr == "" or result.returncode in (0, 1, 2), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_healthy_path_is_ok(net: tuple[Net, Path]) -> None:
    built, config = net
    code, data = diagnose(built, config)
    path = data["paths"][0]
    assert path["verdict"]["state"] == "OK", data
    assert code == 0
    assert [h["name"] for h in path["hops"]] == ["sw", "rt", "isp"]
    assert all(h["icmp"]["received"] == 20 for h in path["hops"])
    target = path["targets"][0]
    assert target["ok"] is True and target["status"] == 200 and target["error"] is None
    assert data["findings"] == []


def test_netem_loss_on_one_segment_names_the_hop_behind_it(net: tuple[Net, Path]) -> None:
    built, config = net
    # loss on the switch's port toward the router: sw answers, rt and everything behind it lose
    with built.loss(built.sw, "swb", 30):
        code, data = diagnose(built, config)
    verdict = data["paths"][0]["verdict"]
    assert verdict["kind"] == "loss", data
    assert verdict["first_bad_hop"] == "rt"
    assert "sw → rt" in verdict["message"]
    assert data["paths"][0]["hops"][0]["icmp"]["loss_percent"] == 0.0
    assert code in (1, 2)
    checks = [f["check"] for f in data["findings"] if f["severity"] != "info"]
    assert checks == ["net.loss"], data["findings"]
    assert data["findings"][0]["subject"] == "internet: sw → rt"
