"""Real kernels, real ARP: devices in namespaces on one bridge (documentation ranges only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lannet import Lan, lan, sh

from support.netns import can_use_netns

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

HERE = Path(__file__).parent
OUI = HERE.parent / "fixtures" / "lan" / "oui.csv"
YAMORI = str(Path(sys.executable).with_name("yamori"))
MAC_H, MAC_GW, MAC_GW2 = "00:00:5e:00:53:10", "00:00:5e:00:53:01", "00:00:5e:00:53:02"
MAC_A, MAC_B = "00:00:5e:00:53:50", "02:00:5e:00:53:51"


def settings(tmp: Path, hosts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"agent": {"state_dir": str(tmp)},
            "inventory": {"hosts": hosts or []},
            "network": {"lan": {"oui_file": str(OUI), "window": "10m", "probe_wait": "0.5s"}}}


def base(net: Lan) -> str:
    net.device("gw", MAC_GW, "192.0.2.1/24")
    return net.device("h", MAC_H, "192.0.2.10/24", gateway="192.0.2.1")


class Watcher:
    def __init__(self, net: Lan, ns: str, conf: dict[str, Any], seconds: float = 30) -> None:
        env = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = net.spawn(ns, sys.executable, "-m", "lan.watch_helper", json.dumps(conf), str(seconds),
                              stdout=subprocess.PIPE, env=env, cwd=str(HERE.parent))
        assert self.proc.stdout is not None
        self.lines: list[dict[str, Any]] = []
        # the first {"state": ...} line comes after the event socket is bound and the table read
        for _ in range(20):
            line = self.proc.stdout.readline()
            assert line, "the watcher exited"
            if line.startswith('{"state"'):
                break

    def events(self) -> list[dict[str, Any]]:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return [json.loads(ln)["event"] for ln in out.splitlines() if ln.startswith('{"event"')]


def test_watcher_reports_a_second_device_on_one_address_with_both_macs(tmp_path: Path) -> None:
    with lan() as net:
        h = base(net)
        net.device("a", MAC_A, "192.0.2.50/24")
        w = Watcher(net, h, settings(tmp_path))
        sh("ping", "-c1", "-W2", "192.0.2.50", ns=h)
        time.sleep(1.2)     # past the neighbour locktime (1 s): the next claim is taken
        b = net.device("b", MAC_B, "192.0.2.50/24")
        sh("ping", "-c1", "-W2", "192.0.2.10", ns=b)      # B's ARP request carries 192.0.2.50 -> MAC_B
        time.sleep(0.5)
        events = w.events()
    dups = [e for e in events if e["check"] == "net.duplicate_address"]
    assert len(dups) == 1, events
    assert dups[0]["subject"] == "192.0.2.50"
    assert MAC_A in dups[0]["message"] and MAC_B in dups[0]["message"]
    assert "ICANN, IANA Department" in dups[0]["message"] and "locally administered" in dups[0]["message"]


def test_watcher_reports_a_gateway_mac_change_once(tmp_path: Path) -> None:
    with lan() as net:
        h = base(net)
        gw = f"ymlan-{net.tag}-gw"
        w = Watcher(net, h, settings(tmp_path))
        sh("ping", "-c1", "-W2", "192.0.2.1", ns=h)
        time.sleep(1.2)
        # a replacement router announcing itself (gratuitous ARP), as most do when they come up
        sh("sysctl", "-qw", "net.ipv4.conf.eth0.arp_notify=1", ns=gw)
        sh("ip", "link", "set", "eth0", "address", MAC_GW2, ns=gw)
        for _ in range(3):     # the first may go to the old MAC until the kernel re-resolves
            sh("ping", "-c1", "-W1", "192.0.2.1", ns=h, check=False)
            time.sleep(0.3)
        events = w.events()
    changed = [e for e in events if e["check"] == "net.gateway_changed"]
    assert len(changed) == 1, events
    assert changed[0]["subject"] == "192.0.2.1"
    assert MAC_GW in changed[0]["message"] and MAC_GW2 in changed[0]["message"]
    assert not [e for e in events if e["check"] == "net.duplicate_address"], events


def neighbours(net: Lan, ns: str, conf: dict[str, Any], tmp: Path) -> tuple[int, dict[str, Any]]:
    path = tmp / "yamori.toml"
    path.write_text(to_toml(conf))
    done = sh(YAMORI, "--config", str(path), "net", "neighbours", "--json", ns=ns, check=False)
    assert done.returncode in (0, 1, 2), done.stderr
    return done.returncode, json.loads(done.stdout)


def to_toml(conf: dict[str, Any]) -> str:
    hosts = "".join(f'[[inventory.hosts]]\nname = "{h["name"]}"\naddresses = {json.dumps(h["addresses"])}\n'
                    for h in conf["inventory"]["hosts"])
    lan_conf = "".join(f"{k} = {json.dumps(v)}\n" for k, v in conf["network"]["lan"].items())
    return f'[agent]\nstate_dir = "{conf["agent"]["state_dir"]}"\n{hosts}[network.lan]\n{lan_conf}'


def test_neighbours_command_probes_a_declared_address_and_hears_both_devices(tmp_path: Path) -> None:
    conf = settings(tmp_path, [{"name": "router2", "addresses": ["192.0.2.50"]}])
    with lan() as net:
        h = base(net)
        net.device("a", MAC_A, "192.0.2.50/24")
        net.device("b", MAC_B, "192.0.2.50/24")
        net.device("x", "00:00:5e:00:53:99", "192.0.2.99/24")
        sh("ping", "-c1", "-W2", "192.0.2.99", ns=h)        # an undeclared device the host talked to
        code, data = neighbours(net, h, conf, tmp_path)
    assert code == 2, data
    [dup] = [f for f in data["findings"] if f["check"] == "net.duplicate_address"]
    assert dup["subject"] == "192.0.2.50" and MAC_A in dup["message"] and MAC_B in dup["message"]
    rows = {(r["address"], r["mac"]): r for r in data["neighbours"]}
    assert rows[("192.0.2.50", MAC_A)]["known"] is True
    assert rows[("192.0.2.50", MAC_A)]["vendor"] == "ICANN, IANA Department"
    unknown = rows[("192.0.2.99", "00:00:5e:00:53:99")]
    assert unknown["known"] is False and unknown["first_seen"] and unknown["last_seen"]
    assert set(unknown) == {"address", "mac", "vendor", "interface", "first_seen", "last_seen", "known"}
    assert not [f for f in data["findings"] if f["subject"] == "192.0.2.99"]


def test_neighbours_command_clean_lan_and_gateway_change_reported_once(tmp_path: Path) -> None:
    conf = settings(tmp_path, [{"name": "router", "addresses": ["192.0.2.1"]}])
    with lan() as net:
        h = base(net)
        gw = f"ymlan-{net.tag}-gw"
        code, data = neighbours(net, h, conf, tmp_path)
        assert (code, data["findings"]) == (0, []), data
        assert [r["mac"] for r in data["neighbours"] if r["address"] == "192.0.2.1"] == [MAC_GW]
        sh("ip", "link", "set", "eth0", "address", MAC_GW2, ns=gw)
        code, data = neighbours(net, h, conf, tmp_path)
        again, later = neighbours(net, h, conf, tmp_path)
    [changed] = [f for f in data["findings"] if f["check"] == "net.gateway_changed"]
    assert MAC_GW in changed["message"] and MAC_GW2 in changed["message"]
    assert later["findings"] == [] and again == 0, later


def test_ipv6_dad_failure_is_a_duplicate(tmp_path: Path) -> None:
    with lan() as net:
        net.device("a", MAC_A, "2001:db8::50/64")
        time.sleep(2.5)     # A's own DAD completes first
        h = net.device("h", MAC_H, "2001:db8::50/64")
        for _ in range(50):
            flags = sh("ip", "-6", "addr", "show", "dev", "eth0", ns=h).stdout
            if "dadfailed" in flags:
                break
            time.sleep(0.1)
        code, data = neighbours(net, h, settings(tmp_path), tmp_path)
    assert "dadfailed" in flags
    [dup] = [f for f in data["findings"] if f["subject"] == "2001:db8::50"]
    assert dup["check"] == "net.duplicate_address" and dup["severity"] == "critical" and code == 2


def test_scheduled_sweep_as_a_probe_reports_the_duplicate(tmp_path: Path) -> None:
    conf = settings(tmp_path, [{"name": "router2", "addresses": ["192.0.2.50"]}])
    path = tmp_path / "yamori.toml"
    path.write_text(to_toml(conf))
    with lan() as net:
        h = base(net)
        net.device("a", MAC_A, "192.0.2.50/24")
        net.device("b", MAC_B, "192.0.2.50/24")
        done = sh(YAMORI, "--config", str(path), "check", "--json", "--only", "net.arp", ns=h, check=False)
    data = json.loads(done.stdout)
    assert done.returncode == 2, data
    [dup] = [f for f in data["findings"] if f["subject"] == "192.0.2.50"]
    assert dup["probe"] == "net.arp" and MAC_A in dup["message"] and MAC_B in dup["message"]


def test_watcher_reports_dadfailed_as_standing_state(tmp_path: Path) -> None:
    with lan() as net:
        net.device("a", MAC_A, "2001:db8::50/64")
        time.sleep(2.2)
        h = net.device("h", MAC_H, "192.0.2.10/24")
        w = Watcher(net, h, settings(tmp_path))
        sh("ip", "addr", "add", "2001:db8::50/64", "dev", "eth0", ns=h)    # A already answers for it
        time.sleep(2.5)
        w.proc.terminate()
        out, _ = w.proc.communicate(timeout=30)
    states = [json.loads(ln)["state"] for ln in out.splitlines() if ln.startswith('{"state"')]
    assert states and [f["subject"] for f in states[-1]] == ["2001:db8::50"], out
    assert states[-1][0]["check"] == "net.duplicate_address" and MAC_H in states[-1][0]["message"]
