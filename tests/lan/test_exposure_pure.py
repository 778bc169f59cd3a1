"""Request builders and answer judges of the exposure probe, and the rules around them."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yamori.config import ConfigError, Settings, parse_config
from yamori.config.inventory import InventorySettings
from yamori.network.exposure import dns as dnsq
from yamori.network.exposure import memcached, ntp, snmp, ssdp
from yamori.network.exposure.runner import HostReport, Measured, RateLimit, findings
from yamori.network.exposure.services import SERVICES, Ask
from yamori.network.exposure.targets import Target, TargetError, select


# -- NTP ---------------------------------------------------------------------------------------------
def _mode6_answer(seq: int, op: int = 0x80 | ntp.READVAR, count: int = 20) -> bytes:
    return ntp.MODE6_HEADER.pack((4 << 3) | 6, op, seq, 0x0615, 0, 0, count) + b"version=\"ntpd 4.2.8\""


def test_mode6_readvar_request_and_answers() -> None:
    req = ntp.mode6_readvar(0x1234)
    assert len(req) == 12 and req[0] & 7 == 6 and req[1] == ntp.READVAR
    assert ntp.mode6_granted(_mode6_answer(0x1234), 0x1234)
    assert not ntp.mode6_granted(_mode6_answer(0x1235), 0x1234)                       # not our sequence
    assert not ntp.mode6_granted(_mode6_answer(0x1234, 0x80 | 0x40 | ntp.READVAR), 0x1234)  # error bit
    assert not ntp.mode6_granted(req, 0x1234)                                         # our own request echoed
    assert not ntp.mode6_granted(_mode6_answer(0x1234, count=0), 0x1234)


def test_mode7_monlist() -> None:
    req = ntp.mode7_monlist()
    assert len(req) == 48 and req[:4] == bytes([0x17, 0, 3, 42])
    item = bytes(72)
    answer = struct.pack("!BBBBHH", 0x97, 0, 3, 42, 6, 72) + item * 6
    assert ntp.mode7_granted(answer)
    assert not ntp.mode7_granted(struct.pack("!BBBBHH", 0x97, 0, 3, 42, 0x4000, 0))   # error 4: no data
    assert not ntp.mode7_granted(req)


# -- SNMP --------------------------------------------------------------------------------------------
def _snmp_answer(version: int, community: bytes, rid: int, value: bytes, status: int = 0,
                 tag: int = snmp.GET_RESPONSE) -> bytes:
    t = snmp._tlv
    varbind = t(snmp.SEQUENCE, snmp._oid(snmp.SYS_DESCR) + value)
    pdu = t(tag, snmp._int(rid) + snmp._int(status) + snmp._int(0) + t(snmp.SEQUENCE, varbind))
    return t(snmp.SEQUENCE, snmp._int(version) + t(snmp.OCTET_STRING, community) + pdu)


def test_snmp_get_request_is_the_textbook_packet() -> None:
    # GetRequest sysDescr.0, v2c, community public, request-id 1, as RFC 3416 lays it out
    req = snmp.get_request("v2c", "public", 1)
    assert req.hex() == "302602010104067075626c6963a019020101020100020100300e300c06082b060102010101000500"


def test_snmp_answers() -> None:
    descr = snmp._tlv(snmp.OCTET_STRING, b"Linux router 6.1 " * 5)
    assert snmp.granted(_snmp_answer(1, b"public", 77, descr), "v2c", "public", 77)
    assert snmp.granted(_snmp_answer(0, b"private", 9, descr), "v1", "private", 9)
    assert not snmp.granted(_snmp_answer(1, b"public", 78, descr), "v2c", "public", 77)
    assert not snmp.granted(_snmp_answer(0, b"public", 77, descr), "v2c", "public", 77)      # wrong version
    assert not snmp.granted(_snmp_answer(1, b"public", 77, descr, status=2), "v2c", "public", 77)
    assert not snmp.granted(_snmp_answer(1, b"public", 77, bytes([0x80, 0])), "v2c", "public", 77)
    assert not snmp.granted(_snmp_answer(1, b"public", 77, descr, tag=snmp.GET_REQUEST), "v2c", "public", 77)
    long = _snmp_answer(1, b"public", 77, snmp._tlv(snmp.OCTET_STRING, b"x" * 300))
    assert snmp.granted(long, "v2c", "public", 77) and long[1] == 0x82     # long-form lengths


@given(st.binary(max_size=200))
def test_snmp_judge_never_raises(data: bytes) -> None:
    snmp.granted(data, "v2c", "public", 1)


# -- DNS ---------------------------------------------------------------------------------------------
def _dns_answer(qid: int, *, ra: bool = True, aa: bool = False, rcode: int = dns.rcode.NOERROR,
                answer: bool = True) -> bytes:
    q = dns.message.from_wire(dnsq.query("example.com", qid))
    r = dns.message.make_response(q)
    r.flags = (r.flags | dns.flags.RA) if ra else (r.flags & ~dns.flags.RA)
    if aa:
        r.flags |= dns.flags.AA
    r.set_rcode(rcode)
    if answer:
        r.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "A", "192.0.2.80"))
    return bytes(r.to_wire())


def test_dns_recursion_judgement() -> None:
    assert dnsq.recursion_granted(_dns_answer(5), 5)
    assert dnsq.recursion_granted(_dns_answer(5, rcode=dns.rcode.NXDOMAIN, answer=False), 5)
    assert not dnsq.recursion_granted(_dns_answer(6), 5)
    assert not dnsq.recursion_granted(_dns_answer(5, ra=False), 5)
    assert not dnsq.recursion_granted(_dns_answer(5, aa=True), 5)      # its own zone
    assert not dnsq.recursion_granted(_dns_answer(5, rcode=dns.rcode.REFUSED, answer=False), 5)
    assert not dnsq.recursion_granted(dnsq.query("example.com", 5), 5)  # a query is not an answer


@given(st.binary(max_size=120))
def test_dns_judge_never_raises(data: bytes) -> None:
    dnsq.recursion_granted(data, 1)


# -- the small ones ----------------------------------------------------------------------------------
def test_memcached_ssdp() -> None:
    assert memcached.stats(3) == b"\x00\x03\x00\x00\x00\x01\x00\x00stats\r\n"
    assert memcached.answered(b"\x00\x03\x00\x00\x00\x01\x00\x00STAT pid 1\r\n", 3)
    assert not memcached.answered(b"\x00\x04\x00\x00\x00\x01\x00\x00STAT pid 1\r\n", 3)
    assert ssdp.msearch().startswith(b"M-SEARCH * HTTP/1.1\r\n")
    assert ssdp.answered(b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n")
    assert not ssdp.answered(b"HTTP/1.1 400 Bad Request\r\n")


def test_every_service_builds_a_request() -> None:
    for name, s in SERVICES.items():
        payload = s.build(Ask(12345, "example.com"))
        assert 0 < len(payload) <= 512, name
        assert not s.granted(b"", Ask(12345, "example.com")), name          # silence is never an answer


# -- targets, rate, findings -------------------------------------------------------------------------
INV = InventorySettings.model_validate({
    "networks": [{"name": "uplink", "cidr": "203.0.113.0/29", "role": "public"}],
    "hosts": [{"name": "router", "addresses": ["192.0.2.1", "203.0.113.2"]},
              {"name": "edge", "addresses": ["198.51.100.9"], "role": "public"},
              {"name": "ll", "addresses": ["fe80::1"]}]})


def test_targets_are_the_inventory_and_nothing_else() -> None:
    assert select(INV, []) == [Target("router", "192.0.2.1", False), Target("router", "203.0.113.2", True),
                               Target("edge", "198.51.100.9", True)]
    assert select(INV, ["edge"]) == [Target("edge", "198.51.100.9", True)]
    assert select(INV, ["192.0.2.1"]) == [Target("router", "192.0.2.1", False)]
    for outside in ("192.0.2.99", "203.0.113.3", "nobody", "example.com"):
        with pytest.raises(TargetError, match="not a host or address declared"):
            select(INV, [outside])


def test_rate_limit_spaces_sends() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 3))
        now[0] += s

    limit = RateLimit(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limit.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]


def test_findings_only_for_answers_critical_on_public() -> None:
    reports = [HostReport(Target("router", "203.0.113.2", True), [Measured("ntp-mode6", 123, True, 12, 468),
                                                                  Measured("qotd", 17, False, 2, 0)]),
               HostReport(Target("ap", "192.0.2.7", False), [Measured("ssdp", 1900, True, 94, 300)])]
    got = findings(reports)
    assert [(f.severity.value, f.subject) for f in got] == [("critical", "router 203.0.113.2 ntp-mode6"),
                                                            ("warning", "ap 192.0.2.7 ssdp")]
    assert "12-byte request drew 468 bytes, amplification factor 39" in got[0].message
    assert reports[0].services[0].as_json()["factor"] == 39.0


def test_exposure_config_rejects_unknown_services() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[network.exposure]\nservices = ["ntp-mode6", "telnet"]\n', "y.toml")
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith("y.toml:2: network.exposure.services") and "telnet" in problem
    assert Settings().network.exposure.interval == 86400
