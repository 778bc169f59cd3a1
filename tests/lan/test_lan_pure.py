"""The pure parts of LAN hygiene: OUI lookup, conflict decisions, ARP frames, probe targets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yamori.config import ConfigError, Settings, parse_config
from yamori.network.lan import arp
from yamori.network.lan.conflict import Tracker
from yamori.network.lan.model import Address, Gateway, Link, Neighbour, Snapshot
from yamori.network.lan.oui import LOCAL, lookup_vendors, normalize_mac, parse_oui_csv
from yamori.network.lan.scan import NeighbourScan, probe_targets
from yamori.network.lan.state import load_tracker, save_tracker

OUI = Path(__file__).parent.parent / "fixtures" / "lan" / "oui.csv"
A, B, C = "00:00:5e:00:53:01", "00:00:5e:00:53:02", "00:00:5e:00:53:03"


# -- OUI ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["00:00:5E:00:53:01", "00-00-5e-00-53-01", "00005e005301", " 00:00:5e:00:53:01 "])
def test_mac_forms(text: str) -> None:
    assert normalize_mac(text) == A


@pytest.mark.parametrize("text", ["", "00:00:5e:00:53", "zz:00:5e:00:53:01", "00:00:5e:00:53:01:02"])
def test_not_a_mac(text: str) -> None:
    assert normalize_mac(text) is None


def test_vendors_from_the_ieee_table() -> None:
    got = lookup_vendors(OUI, [A, "b8:27:eb:01:02:03", "02:00:5e:00:53:51", "f0:0d:00:00:00:01"])
    assert got == {A: "ICANN, IANA Department", "b8:27:eb:01:02:03": "Raspberry Pi Foundation",
                   "02:00:5e:00:53:51": LOCAL, "f0:0d:00:00:00:01": ""}


def test_missing_table_names_no_vendor_and_does_not_fail(tmp_path: Path) -> None:
    assert lookup_vendors(tmp_path / "absent.csv", [A]) == {A: ""}


def test_hostile_organisation_names_are_cleaned() -> None:
    rows = ['MA-L,00005E,"Evil\x1b[31m Corp\nline2' + "x" * 200 + '",addr']
    name = parse_oui_csv(rows, {"00005E"})["00005E"]
    assert "\x1b" not in name and "\n" not in name and len(name) <= 80


# -- conflicts ---------------------------------------------------------------------------------
def test_second_mac_within_the_window_is_one_duplicate() -> None:
    t = Tracker(window=600)
    assert t.observe("eth0", "192.0.2.50", A, 1000) == []
    [c] = t.observe("eth0", "192.0.2.50", B, 1100)
    assert (c.kind, c.before.mac, c.after.mac, c.before.last_seen, c.after.first_seen) == \
        ("duplicate", A, B, 1000, 1100)
    assert t.observe("eth0", "192.0.2.50", A, 1110) == []        # flapping back: already reported
    assert t.observe("eth0", "192.0.2.50", B, 1120) == []


def test_a_device_replaced_after_the_window_is_not_a_duplicate() -> None:
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.50", A, 1000)
    assert t.observe("eth0", "192.0.2.50", B, 5000) == []


def test_gateway_change_is_reported_once_however_late() -> None:
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.1", A, 1000, gateway=True)
    [c] = t.observe("eth0", "192.0.2.1", B, 90000, gateway=True)
    assert (c.kind, c.before.mac, c.after.mac) == ("gateway", A, B)
    assert t.observe("eth0", "192.0.2.1", B, 90100, gateway=True) == []


def test_gateway_flapping_between_two_macs_is_a_duplicate() -> None:
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.1", A, 1000, gateway=True)
    assert [c.kind for c in t.observe("eth0", "192.0.2.1", B, 1010, gateway=True)] == ["gateway"]
    assert [c.kind for c in t.observe("eth0", "192.0.2.1", A, 1020, gateway=True)] == ["duplicate"]


def test_a_replacement_router_dated_before_the_old_one_is_not_taken_for_a_flip() -> None:
    # the kernel dates a sighting by its last confirmation: a MAC learnt from a gratuitous ARP
    # keeps the old entry's (earlier) confirmation time; its next answer is the same router
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.1", A, 1000, gateway=True)
    assert [c.kind for c in t.observe("eth0", "192.0.2.1", B, 990, gateway=True)] == ["gateway"]
    assert t.observe("eth0", "192.0.2.1", B, 1005, gateway=True) == []
    assert t.observe("eth0", "192.0.2.1", B, 1010, gateway=True) == []


def test_a_stale_entry_read_again_is_no_flip() -> None:
    # `net neighbours` run twice: the kernel still holds the old router's entry (dated by its old
    # confirmation) while the probes hear the new one
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.1", A, 1000, gateway=True)
    assert [c.kind for c in t.observe("eth0", "192.0.2.1", B, 1010, gateway=True)] == ["gateway"]
    assert t.observe("eth0", "192.0.2.1", A, 1000, gateway=True) == []
    assert t.observe("eth0", "192.0.2.1", B, 1020, gateway=True) == []
    # the old MAC answering anew (a later time) is a flip all the same
    assert [c.kind for c in t.observe("eth0", "192.0.2.1", A, 1030, gateway=True)] == ["duplicate"]


def test_the_last_heard_mac_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "lan.json"
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.1", A, 1000, gateway=True)
    save_tracker(t, path)
    again, _ = load_tracker(path, 600)
    assert [c.kind for c in again.observe("eth0", "192.0.2.1", B, 1001, gateway=True)] == ["gateway"]
    assert again.observe("eth0", "192.0.2.1", B, 1002, gateway=True) == []


def test_same_address_on_two_interfaces_is_not_a_conflict() -> None:
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.50", A, 1000)
    assert t.observe("eth1", "192.0.2.50", B, 1001) == []


def test_state_round_trip_keeps_what_was_reported(tmp_path: Path) -> None:
    path = tmp_path / "lan.json"
    t = Tracker(window=600)
    t.observe("eth0", "192.0.2.50", A, 1000)
    t.observe("eth0", "192.0.2.50", B, 1001)
    save_tracker(t, path)
    again, problems = load_tracker(path, 600)
    assert problems == [] and again.observe("eth0", "192.0.2.50", A, 1002) == []
    assert {s.mac for s in again.history("eth0", "192.0.2.50")} == {A, B}


def test_hostile_state_file_is_reported_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "lan.json"
    path.write_text(json.dumps({"version": 1, "seen": [
        {"interface": "eth0", "address": "192.0.2.5", "mac": A, "first_seen": 1, "last_seen": 2},
        {"interface": "eth0", "address": "192.0.2.6", "mac": "not a mac", "first_seen": 1, "last_seen": 2},
        "junk"], "reported": {"k": "x"}}))
    t, problems = load_tracker(path, 600)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "seen[1]: not an interface/address/mac/first_seen/last_seen record",
        "seen[2]: not an interface/address/mac/first_seen/last_seen record"]
    assert [s.mac for s in t.history("eth0", "192.0.2.5")] == [A]
    path.write_text("{broken")
    assert "unreadable" in load_tracker(path, 600)[1][0]


# -- ARP frames -----------------------------------------------------------------------------------
def test_probe_frame_is_rfc5227() -> None:
    frame = arp.build_probe(A, "192.0.2.50")
    assert frame[:6] == b"\xff" * 6 and len(frame) == 42
    p = arp.parse_frame(frame)
    assert p == arp.ArpPacket(arp.ARP_REQUEST, A, "0.0.0.0", "192.0.2.50")


def _reply(mac: str, sender_ip: str, op: int = arp.ARP_REPLY) -> bytes:
    m = bytes.fromhex(mac.replace(":", ""))
    body = arp._ARP.pack(1, 0x0800, 6, 4, op, m, socket.inet_aton(sender_ip), b"\0" * 6, b"\0" * 4)
    return b"\xff" * 6 + m + b"\x08\x06" + body


def test_claims_count_distinct_senders_and_ignore_our_own() -> None:
    packets = [arp.parse_frame(_reply(m, ip, op)) for m, ip, op in [
        (B, "192.0.2.50", arp.ARP_REPLY), (C, "192.0.2.50", arp.ARP_REQUEST), (B, "192.0.2.50", arp.ARP_REPLY),
        (A, "192.0.2.50", arp.ARP_REPLY), (C, "192.0.2.77", arp.ARP_REPLY)]]
    got = arp.claims([p for p in packets if p], {"192.0.2.50", "192.0.2.60"}, own_mac=A)
    assert got == {"192.0.2.50": [B, C], "192.0.2.60": []}


@given(st.binary(max_size=80))
def test_any_bytes_parse_or_are_refused(data: bytes) -> None:
    arp.parse_frame(data)


# -- what the scan probes and reports ---------------------------------------------------------------
def _snap() -> Snapshot:
    return Snapshot(
        links={1: Link(1, "lo", None, True), 2: Link(2, "eth0", A, True), 3: Link(3, "eth1", C, False)},
        addresses=[Address("lo", "127.0.0.1", 8, socket.AF_INET), Address("eth0", "192.0.2.10", 24, socket.AF_INET),
                   Address("eth1", "198.51.100.10", 24, socket.AF_INET),
                   Address("eth0", "2001:db8::10", 64, socket.AF_INET6, dad_failed=True)],
        neighbours=[Neighbour("eth0", "192.0.2.1", B, 1000.0, "reachable")],
        gateways=[Gateway("eth0", "192.0.2.1")])


def test_targets_are_own_and_declared_on_link_only() -> None:
    declared = ["192.0.2.50", "192.0.2.255", "203.0.113.5", "198.51.100.7", "192.0.2.10"]
    got = probe_targets(_snap(), declared, lambda i: i != "lo", limit=10)
    assert got == {"eth0": ["192.0.2.10", "192.0.2.50"]}      # eth1 is down; broadcast and off-link skipped
    assert probe_targets(_snap(), declared, lambda i: i != "lo", limit=1) == {"eth0": ["192.0.2.10"]}


def _settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({"agent": {"state_dir": str(tmp_path)},
                                    "inventory": {"hosts": [{"name": "r2", "addresses": ["192.0.2.50"]}]},
                                    "network": {"lan": {"oui_file": str(OUI)}}})


def test_scan_reports_two_answers_an_answer_for_our_address_and_dadfailed(tmp_path: Path) -> None:
    answers = {"192.0.2.10": [C], "192.0.2.50": [B, "02:00:5e:00:53:51"]}
    scan = NeighbourScan(_settings(tmp_path), clock=lambda: 2000.0, snapshot=_snap,
                         prober=lambda i, mac, ts: {t: answers.get(t, []) for t in ts})
    result = scan.run()
    by_subject = {f["subject"]: f for f in result.as_json()["findings"]}
    assert set(by_subject) == {"192.0.2.10", "192.0.2.50", "2001:db8::10"}
    assert A in by_subject["192.0.2.10"]["message"] and C in by_subject["192.0.2.10"]["message"]
    assert B in by_subject["192.0.2.50"]["message"] and "02:00:5e:00:53:51" in by_subject["192.0.2.50"]["message"]
    assert all(f["check"] == "net.duplicate_address" for f in by_subject.values())
    rows = {(r["address"], r["mac"]): r for r in result.neighbours}
    assert rows[("192.0.2.50", B)]["known"] and not rows[("192.0.2.1", B)]["known"]
    assert rows[("192.0.2.1", B)]["last_seen"] == "1970-01-01T00:16:40Z"


def test_scan_without_raw_sockets_says_so(tmp_path: Path) -> None:
    def denied(interface: str, mac: str, targets: list[str]) -> dict[str, list[str]]:
        raise PermissionError(1, "Operation not permitted")

    result = NeighbourScan(_settings(tmp_path), snapshot=_snap, prober=denied).run()
    assert result.problems == ["ARP probes on eth0 not sent: [Errno 1] Operation not permitted "
                               "(needs root or CAP_NET_RAW)"]


def test_lan_config_is_validated_with_location() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[network.lan]\nprobe_count = 9\nbogus = 1\n", "y.toml")
    text = [str(p) for p in caught.value.problems]
    assert any(p.startswith("y.toml:2: network.lan.probe_count") for p in text), text
    assert any(p.startswith("y.toml:3: network.lan.bogus") for p in text), text


def test_a_forged_mac_flood_keeps_the_state_bounded() -> None:
    from yamori.network.lan.conflict import MACS_PER_ADDRESS, MAX_REPORTED

    t = Tracker(window=600)
    for i in range(MAX_REPORTED + 500):
        mac = f"00:00:5e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
        t.observe("eth0", "192.0.2.50", mac, 1000 + i / 100)
    assert len(t.reported) <= MAX_REPORTED and len(t.history("eth0", "192.0.2.50")) == MACS_PER_ADDRESS


def test_agent_schedules_the_sweep_and_exposure_only_for_declared_hosts(tmp_path: Path) -> None:
    from yamori.catalog import build_probes, build_services

    bare = Settings.model_validate({"agent": {"state_dir": str(tmp_path)}})
    assert [p.name for p in build_probes(bare) if p.name.startswith("net.")] == []
    assert "net.neighbours" in [s.name for s in build_services(bare)]
    declared = _settings(tmp_path)
    got = {p.name: p.interval for p in build_probes(declared) if p.name.startswith("net.")}
    assert got == {"net.arp": 900.0, "net.exposure": 86400.0}
    off = Settings.model_validate({"agent": {"state_dir": str(tmp_path)},
                                   "inventory": {"hosts": [{"name": "r", "addresses": ["192.0.2.1"]}]},
                                   "network": {"lan": {"enabled": False}, "exposure": {"enabled": False}}})
    assert [p.name for p in build_probes(off) if p.name.startswith("net.")] == []
    assert "net.neighbours" not in [s.name for s in build_services(off)]
