"""Which addresses may be probed: those of [[inventory.hosts]], nothing else. A HOST argument
is a declared host's name or one of its addresses; anything else is refused before a single
packet is sent."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...config.inventory import InventorySettings


class TargetError(ValueError):
    """A HOST that is not in the inventory (the CLI shows it and exits 2)."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    address: str
    public: bool     # role "public" (the host, or the inventory network it is in): findings are critical


def _public(inv: InventorySettings, host_role: str, address: str) -> bool:
    if host_role == "public":
        return True
    ip = ipaddress.ip_address(address)
    return any(n.role == "public" and ip in ipaddress.ip_network(n.cidr, strict=False) for n in inv.networks)


def _probeable(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_multicast or ip.is_unspecified or ip.is_link_local
                or (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255")))


def all_targets(inv: InventorySettings) -> list[Target]:
    out: list[Target] = []
    for h in inv.hosts:
        for a in h.addresses:
            t = Target(h.name, str(ipaddress.ip_address(a)), _public(inv, h.role, a))
            if _probeable(a) and t not in out:
                out.append(t)
    return out


def select(inv: InventorySettings, wanted: list[str]) -> list[Target]:
    """The declared targets named by `wanted` (host names or addresses); all of them if empty."""
    everything = all_targets(inv)
    if not wanted:
        return everything
    chosen: list[Target] = []
    for item in wanted:
        match = [t for t in everything if t.name == item or t.address == _norm(item)]
        if not match:
            raise TargetError(f"{item}: not a host or address declared in [[inventory.hosts]]; "
                              "yamori probes only the operator's own declared devices")
        chosen += [t for t in match if t not in chosen]
    return chosen


def _norm(item: str) -> str:
    try:
        return str(ipaddress.ip_address(item))
    except ValueError:
        return item
