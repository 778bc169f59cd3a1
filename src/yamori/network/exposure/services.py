"""The services probed: port, request, how a granting answer looks, and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import dns, memcached, ntp, smallservices, snmp, ssdp


@dataclass(frozen=True, slots=True)
class Ask:
    """What a request is built from: a random id to match the answer, the DNS name to ask."""

    token: int
    dns_name: str


@dataclass(frozen=True, slots=True)
class UdpService:
    name: str
    port: int
    label: str
    advice: str
    build: Callable[[Ask], bytes]
    granted: Callable[[bytes, Ask], bool]


NTP_ADVICE = ("Add `restrict default kod limited nomodify nopeer noquery` (and `restrict -6 default ...`) to "
              "ntp.conf; on a router, switch its NTP server off or limit it to the LAN side.")
SNMP_ADVICE = ("Remove the guessable community (snmpd: the `rocommunity public`/`private` lines; on a router, "
               "its SNMP settings), use SNMPv3, and accept udp/161 only from the monitoring host.")
SMALL_ADVICE = ("Switch off the inetd/xinetd 'small services' (chargen, qotd, echo, daytime); nothing needs "
                "them today.")


def _snmp(version: str, community: str) -> UdpService:
    return UdpService(f"snmp-{version}-{community}", 161, f"SNMP{version} GET with community '{community}'",
                      SNMP_ADVICE, lambda a: snmp.get_request(version, community, a.token & 0x7FFFFFFF),
                      lambda d, a: snmp.granted(d, version, community, a.token & 0x7FFFFFFF))


SERVICES: dict[str, UdpService] = {s.name: s for s in (
    UdpService("ntp-mode6", 123, "NTP mode 6 READVAR", NTP_ADVICE,
               lambda a: ntp.mode6_readvar(a.token), lambda d, a: ntp.mode6_granted(d, a.token)),
    UdpService("ntp-mode7", 123, "NTP mode 7 MON_GETLIST (monlist)",
               "Upgrade ntpd (monlist is gone since 4.2.7; ntpsec never had it) or add `disable monitor`; "
               "and `restrict default noquery`.",
               lambda a: ntp.mode7_monlist(), lambda d, a: ntp.mode7_granted(d)),
    UdpService("dns-recursion", 53, "DNS recursion for a name outside its zones",
               "Allow recursion only for your own networks (BIND: `allow-recursion { localnets; };`, or "
               "`recursion no;` on an authoritative server; dnsmasq: `--local-service`); a router must not "
               "answer DNS on its WAN side.",
               lambda a: dns.query(a.dns_name, a.token), lambda d, a: dns.recursion_granted(d, a.token)),
    UdpService("ssdp", 1900, "SSDP M-SEARCH",
               "Switch UPnP/SSDP off on the device, or at least on its WAN side; drop udp/1900 from outside.",
               lambda a: ssdp.msearch(), lambda d, a: ssdp.answered(d)),
    UdpService("memcached", 11211, "memcached `stats` over UDP",
               "Start memcached with `-U 0` (no UDP) and `-l 127.0.0.1` or a private address.",
               lambda a: memcached.stats(a.token), lambda d, a: memcached.answered(d, a.token)),
    _snmp("v1", "public"), _snmp("v2c", "public"), _snmp("v1", "private"), _snmp("v2c", "private"),
    UdpService("chargen", 19, "CHARGEN", SMALL_ADVICE,
               lambda a: smallservices.request(), lambda d, a: smallservices.answered(d)),
    UdpService("qotd", 17, "QOTD", SMALL_ADVICE,
               lambda a: smallservices.request(), lambda d, a: smallservices.answered(d)),
)}
