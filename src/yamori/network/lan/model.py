"""Records of the LAN domain: what the kernel and the ARP probes told us."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Link:
    index: int
    name: str
    mac: str | None
    up: bool


@dataclass(frozen=True, slots=True)
class Address:
    """One of this host's own addresses (IFA_*); `dad_failed` from IFA_F_DADFAILED."""

    interface: str
    address: str
    prefixlen: int
    family: int
    dad_failed: bool = False
    tentative: bool = False


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One neighbour-table entry (or an ARP answer) with a link-layer address."""

    interface: str
    address: str
    mac: str
    time: float              # when the kernel last confirmed it (epoch seconds)
    state: str = ""          # reachable, stale, delay, probe, permanent, noarp ("" = an ARP answer)


@dataclass(frozen=True, slots=True)
class Gateway:
    interface: str
    address: str


@dataclass(slots=True)
class Snapshot:
    """The kernel's view at one moment: links, own addresses, neighbours, default gateways."""

    links: dict[int, Link] = field(default_factory=dict)
    addresses: list[Address] = field(default_factory=list)
    neighbours: list[Neighbour] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)

    def link_name(self, index: int) -> str | None:
        link = self.links.get(index)
        return link.name if link else None

    def mac_of(self, interface: str) -> str | None:
        return next((lk.mac for lk in self.links.values() if lk.name == interface), None)

    def is_gateway(self, interface: str, address: str) -> bool:
        return any(g.interface == interface and g.address == address for g in self.gateways)
