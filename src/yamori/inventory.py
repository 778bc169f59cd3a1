"""The operator's declared world, and where an address falls in it.

classify() answers the guard's first question about any source: is it loopback, one of the
operator's own networks (with its role), some other private range (unexpected: incident 1),
or the internet.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from .config.inventory import InventorySettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Zone(enum.StrEnum):
    LOOPBACK = "loopback"
    OPERATOR = "operator"   # a network the operator declared
    PRIVATE = "private"     # RFC 1918, 100.64/10, fc00::/7, fe80::/10 ... not declared
    INTERNET = "internet"


# Ranges that never come from the internet at large. Order matters only for the name shown.
PRIVATE_RANGES: tuple[tuple[str, IPNetwork], ...] = tuple(
    (name, ipaddress.ip_network(cidr))
    for name, cidr in (
        ("RFC 1918 10/8", "10.0.0.0/8"),
        ("RFC 1918 172.16/12", "172.16.0.0/12"),
        ("RFC 1918 192.168/16", "192.168.0.0/16"),
        ("shared address space 100.64/10 (RFC 6598)", "100.64.0.0/10"),
        ("link-local 169.254/16", "169.254.0.0/16"),
        ("unique local fc00::/7", "fc00::/7"),
        ("link-local fe80::/10", "fe80::/10"),
    )
)


@dataclass(frozen=True, slots=True)
class Classification:
    address: str
    zone: Zone
    network: str | None = None   # inventory network name, or the private range's name
    role: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.zone in (Zone.LOOPBACK, Zone.OPERATOR)


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    network: IPNetwork
    role: str


class Inventory:
    def __init__(self, settings: InventorySettings | None = None) -> None:
        settings = settings or InventorySettings()
        self.settings = settings
        self.networks = [
            Network(n.name, ipaddress.ip_network(n.cidr, strict=False), n.role) for n in settings.networks
        ]
        # Most specific network first, so a /28 inside a /24 wins.
        self.networks.sort(key=lambda n: n.network.prefixlen, reverse=True)
        self.host_addresses = {a: h.name for h in settings.hosts for a in h.addresses}
        self.allowlist = [ipaddress.ip_network(a, strict=False) for a in settings.allowlist]

    def network(self, name: str) -> Network | None:
        return next((n for n in self.networks if n.name == name), None)

    def resolve_sources(self, names: list[str]) -> list[IPNetwork]:
        """allowed_from entries (network names or CIDRs) -> networks; unknown names skipped."""
        result: list[IPNetwork] = []
        for entry in names:
            net = self.network(entry)
            if net:
                result.append(net.network)
                continue
            try:
                result.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return result

    def is_allowlisted(self, address: str) -> bool:
        ip = parse_address(address)
        return ip is not None and any(ip in net for net in self.allowlist if net.version == ip.version)

    def classify(self, address: str) -> Classification:
        ip = parse_address(address)
        if ip is None:
            raise ValueError(f"not an IP address: {address!r}")
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        text = str(ip)
        if ip.is_loopback:
            return Classification(text, Zone.LOOPBACK)
        for net in self.networks:
            if net.network.version == ip.version and ip in net.network:
                return Classification(text, Zone.OPERATOR, net.name, net.role)
        for name, private in PRIVATE_RANGES:
            if private.version == ip.version and ip in private:
                return Classification(text, Zone.PRIVATE, name)
        return Classification(text, Zone.INTERNET)


@lru_cache(maxsize=65536)
def parse_address(text: str) -> IPAddress | None:
    """A strict IP address parse (no host names, no zone ids beyond IPv6 scope)."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0] if ":" in text else text)
    except ValueError:
        return None
