"""Listening sockets versus declared services, with real sockets opened on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from yamori.audit.context import AuditContext
from yamori.audit.listeners import Listener, check_listeners, read_listeners
from yamori.config.inventory import InventorySettings
from yamori.records import Severity


@pytest.fixture
def sockets() -> Iterator[tuple[int, int, int]]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    declared = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    declared.bind(("127.0.0.1", 0))
    declared.listen()
    try:
        yield tcp.getsockname()[1], udp.getsockname()[1], declared.getsockname()[1]
    finally:
        for s in (tcp, udp, declared):
            s.close()


def test_real_loopback_sockets_are_seen_and_judged(sockets: tuple[int, int, int]) -> None:
    tcp_port, udp_port, declared_port = sockets
    found = read_listeners()
    mine = [item for item in found if item.port in sockets]
    assert {(item.proto, item.address, item.port) for item in mine} == {
        ("tcp", "127.0.0.1", tcp_port), ("udp", "127.0.0.1", udp_port), ("tcp", "127.0.0.1", declared_port)}
    assert all(item.process.startswith("python") for item in mine)

    inventory = InventorySettings.model_validate(
        {"services": [{"name": "app", "port": declared_port, "proto": "tcp", "allowed_from": []}]})
    findings = check_listeners(mine, AuditContext.from_inventory(inventory))
    assert sorted(f.subject.split(" (")[0] for f in findings) == sorted(
        [f"tcp/{tcp_port} on 127.0.0.1", f"udp/{udp_port} on 127.0.0.1"])
    assert {f.severity for f in findings} == {Severity.INFO}     # loopback only: lower severity


def test_public_ntp_is_critical_and_other_public_listeners_warn() -> None:
    listeners = [Listener("udp", "0.0.0.0", 123, "ntpd"), Listener("tcp", "198.51.100.7", 8443, "java"),
                 Listener("tcp", "::", 5432, "postgres"), Listener("udp", "::ffff:127.0.0.1", 53, "dnsmasq")]
    findings = {f.subject: f for f in check_listeners(listeners, AuditContext())}
    assert findings["udp/123 on 0.0.0.0 (ntpd)"].severity is Severity.CRITICAL
    assert "NTP" in findings["udp/123 on 0.0.0.0 (ntpd)"].message
    assert findings["tcp/8443 on 198.51.100.7 (java)"].severity is Severity.WARNING
    assert findings["udp/53 on ::ffff:127.0.0.1 (dnsmasq)"].severity is Severity.INFO
    assert not any(s.startswith("tcp/5432") for s in findings)   # PostgreSQL's own port is declared
