"""Real ntpsec, BIND, net-snmp, memcached, miniupnpd and inetd's CHARGEN in namespaces: open
configurations are reported with a factor above 1, closed ones are not, and an undeclared
neighbour is never sent a packet."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemons import inetd_chargen, memcached, miniupnpd, named, ntpsec, snmpd
from lannet import Lan, lan, sh

from support.netns import can_use_netns

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

YAMORI = str(Path(sys.executable).with_name("yamori"))
OPEN, CLOSED, BYSTANDER, UPSTREAM, PROBER = "192.0.2.123", "192.0.2.124", "192.0.2.99", "192.0.2.54", "192.0.2.10"
# every IPv4 packet addressed to the bystander (multicast the other namespaces' kernels send,
# such as IGMP reports, is not addressed to it)
COUNTER = f"table ip ymtest {{\n chain pre {{\n  type filter hook prerouting priority -300;\n" \
          f"  ip daddr {BYSTANDER} counter\n }}\n}}\n"


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lan, str, Path]]:
    work = tmp_path_factory.mktemp("exposure")
    with lan() as net:
        opened = net.device("open", "00:00:5e:00:53:23", f"{OPEN}/24")
        closed = net.device("closed", "00:00:5e:00:53:24", f"{CLOSED}/24")
        upstream = net.device("up", "00:00:5e:00:53:54", f"{UPSTREAM}/24")
        bystander = net.device("by", "00:00:5e:00:53:99", f"{BYSTANDER}/24")
        prober = net.device("p", "00:00:5e:00:53:10", f"{PROBER}/24")
        subprocess_nft(bystander)
        named(net, upstream, work / "up", UPSTREAM, recursion=False, zone=("example.com", UPSTREAM))
        ntpsec(net, opened, work / "ntp-open", OPEN, open_queries=True)
        named(net, opened, work / "dns-open", OPEN, recursion=True, forwarder=UPSTREAM)
        snmpd(net, opened, work / "snmp-open", OPEN, community=True)
        memcached(net, opened, work / "mc-open", OPEN, udp=True)
        inetd_chargen(net, opened, work / "inetd-open", OPEN)
        miniupnpd(net, opened, work / "upnp-open")
        ntpsec(net, closed, work / "ntp-closed", CLOSED, open_queries=False)
        named(net, closed, work / "dns-closed", CLOSED, recursion=False)
        snmpd(net, closed, work / "snmp-closed", CLOSED, community=False)
        memcached(net, closed, work / "mc-closed", CLOSED, udp=False)
        yield net, prober, work


def subprocess_nft(ns: str) -> None:
    import subprocess

    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=COUNTER, text=True, check=True,
                   capture_output=True, timeout=30)


def ip_packets(ns: str) -> int:
    data = json.loads(sh("nft", "-j", "list", "table", "ip", "ymtest", ns=ns).stdout)
    return sum(int(c["counter"]["packets"]) for r in data["nftables"] if "rule" in r
               for c in r["rule"]["expr"] if "counter" in c)


def exposure(prober: str, work: Path, *args: str, role: str = "") -> tuple[int, dict[str, Any], str]:
    conf = work / "yamori.toml"
    conf.write_text(
        f'[agent]\nstate_dir = "{work}"\n'
        f'[[inventory.hosts]]\nname = "router"\naddresses = ["{OPEN}"]\nrole = "{role}"\n'
        f'[[inventory.hosts]]\nname = "switch"\naddresses = ["{CLOSED}"]\n'
        '[network.exposure]\nrate = 200\nwait = "1.5s"\n')
    done = sh(YAMORI, "--config", str(conf), "net", "exposure", "--json", *args, ns=prober, check=False)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {}), done.stderr


def test_open_services_are_reported_with_their_amplification(devices: tuple[Lan, str, Path]) -> None:
    _, prober, work = devices
    code, data, err = exposure(prober, work)
    assert code == 1, err
    hosts = {h["name"]: h for h in data["hosts"]}
    assert set(hosts) == {"router", "switch"} and hosts["router"]["address"] == OPEN
    svc = {s["service"]: s for s in hosts["router"]["services"]}
    for name in ("ntp-mode6", "dns-recursion", "snmp-v2c-public", "snmp-v1-public", "memcached", "chargen",
                 "ssdp"):
        assert svc[name]["answered"] is True, svc[name]
        assert svc[name]["factor"] > 1 and svc[name]["response_bytes"] > svc[name]["request_bytes"]
        assert set(svc[name]) == {"service", "port", "answered", "request_bytes", "response_bytes", "factor"}
    for name in ("snmp-v2c-private", "ntp-mode7", "qotd"):
        assert svc[name]["answered"] is False, svc[name]
    found = {f["subject"]: f for f in data["findings"]}
    assert set(found) == {f"router {OPEN} {s}" for s in ("ntp-mode6", "dns-recursion", "snmp-v1-public",
                                                          "snmp-v2c-public", "memcached", "chargen", "ssdp")}
    assert "-U 0" in found[f"router {OPEN} memcached"]["advice"]
    ntp = found[f"router {OPEN} ntp-mode6"]
    assert ntp["check"] == "net.amplifier" and ntp["severity"] == "warning"
    assert "restrict default" in ntp["advice"] and "noquery" in ntp["advice"]
    assert "allow-recursion" in found[f"router {OPEN} dns-recursion"]["advice"]
    assert all(not s["answered"] for s in hosts["switch"]["services"]), hosts["switch"]


def test_public_role_is_critical_and_one_host_can_be_named(devices: tuple[Lan, str, Path]) -> None:
    _, prober, work = devices
    code, data, _ = exposure(prober, work, "router", role="public")
    assert code == 2
    assert [h["name"] for h in data["hosts"]] == ["router"]
    assert {f["severity"] for f in data["findings"]} == {"critical"}


def test_closed_device_alone_reports_nothing(devices: tuple[Lan, str, Path]) -> None:
    _, prober, work = devices
    code, data, _ = exposure(prober, work, CLOSED)
    assert (code, data["findings"]) == (0, [])


def test_undeclared_neighbour_never_receives_a_packet(devices: tuple[Lan, str, Path]) -> None:
    net, prober, work = devices
    bystander = f"ymlan-{net.tag}-by"
    before = ip_packets(bystander)
    code, data, err = exposure(prober, work, BYSTANDER)
    assert code == 2 and data == {} and "not a host or address declared" in err
    exposure(prober, work)                       # a full run over the inventory
    assert ip_packets(bystander) == before == 0
    sh("ping", "-c1", "-W2", BYSTANDER, ns=prober)    # the counter does count what is sent to it
    assert ip_packets(bystander) == 1
