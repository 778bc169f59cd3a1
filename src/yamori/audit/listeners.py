"""Listening sockets on this host versus the services the operator declared (incident 7)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]  # no types-psutil in the pinned set

from ..records import Finding, Severity
from .context import AuditContext

# UDP services that answer a small query with a large reply: open ones get used for DDoS
# reflection (NTP monlist, DNS, SSDP, memcached, chargen, SNMP, CLDAP, WS-Discovery).
AMPLIFIERS = {123: "NTP", 53: "DNS", 1900: "SSDP", 11211: "memcached", 19: "chargen", 161: "SNMP",
              389: "CLDAP", 3702: "WS-Discovery", 17: "QOTD", 111: "portmapper"}


@dataclass(frozen=True, slots=True)
class Listener:
    proto: str          # tcp | udp
    address: str
    port: int
    process: str = ""

    @property
    def loopback(self) -> bool:
        try:
            ip = ipaddress.ip_address(self.address.split("%", 1)[0])
        except ValueError:
            return False
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return (mapped or ip).is_loopback


def read_listeners() -> list[Listener]:
    """TCP sockets in LISTEN and unconnected UDP sockets, with the owning process name."""
    result: set[Listener] = set()
    for conn in psutil.net_connections(kind="inet"):
        if not conn.laddr:
            continue
        if conn.type == socket.SOCK_STREAM and conn.status == psutil.CONN_LISTEN:
            proto = "tcp"
        elif conn.type == socket.SOCK_DGRAM and not conn.raddr:
            proto = "udp"
        else:
            continue
        result.add(Listener(proto, conn.laddr.ip, conn.laddr.port, _process_name(conn.pid)))
    return sorted(result, key=lambda x: (x.proto, x.port, x.address))


def _process_name(pid: int | None) -> str:
    if not pid:
        return ""
    try:
        return str(psutil.Process(pid).name())
    except (psutil.Error, OSError):
        return ""


def check_listeners(listeners: list[Listener], ctx: AuditContext) -> list[Finding]:
    declared = {(s.proto, s.port) for s in ctx.services()}
    findings = []
    for item in listeners:
        if (item.proto, item.port) in declared:
            continue
        findings.append(_undeclared(item))
    return findings


def _undeclared(item: Listener) -> Finding:
    who = f" ({item.process})" if item.process else ""
    subject = f"{item.proto}/{item.port} on {item.address}{who}"
    if item.loopback:
        return Finding("listen.undeclared", Severity.INFO, subject,
                       f"{item.proto}/{item.port}{who} listens on loopback only and is not in the inventory. "
                       "Only this host can reach it.",
                       "Declare it under [[inventory.services]] if you want it, or stop the service.")
    amplifier = AMPLIFIERS.get(item.port) if item.proto == "udp" else None
    if amplifier:
        return Finding("listen.undeclared", Severity.CRITICAL, subject,
                       f"{amplifier} on udp/{item.port}{who} listens on {item.address} and nobody declared it. "
                       f"An open {amplifier} service answers small spoofed queries with large replies: it gets "
                       "used to flood others, and your provider sees the attack coming from you.",
                       f"Stop the service, or bind it to loopback / the LAN address, and allow udp/{item.port} "
                       "only from declared sources in the firewall.")
    return Finding("listen.undeclared", Severity.WARNING, subject,
                   f"{item.proto}/{item.port}{who} listens on {item.address} but is not a declared service. "
                   "Every service nobody knows about is one nobody patches or watches.",
                   "Stop it if unneeded, bind it to loopback, or declare it under [[inventory.services]] "
                   "with its allowed_from.")
