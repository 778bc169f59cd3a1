"""What a path means in terms of addresses and ports: [[network.paths]] resolved against the
inventory (hop names -> addresses, the hop's declared TCP services -> ports to connect to)."""

from __future__ import annotations

from dataclasses import dataclass

from ...config.inventory import InventorySettings
from ...config.network import PathEntry, parse_target


class PlanError(ValueError):
    """A path that names something the inventory does not have; says which key."""


@dataclass(frozen=True, slots=True)
class Hop:
    name: str
    address: str
    role: str = ""
    tcp_ports: tuple[int, ...] = ()

    @property
    def forwards(self) -> bool:
        """Routers, firewalls and switches pass traffic on; a server usually does not."""
        return self.role.lower() in ("router", "firewall", "switch", "gateway", "nat", "modem", "isp", "")


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str   # http | https | tcp
    host: str
    port: int

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")


@dataclass(frozen=True, slots=True)
class PathPlan:
    name: str
    hops: tuple[Hop, ...]
    targets: tuple[Target, ...]
    settings: PathEntry

    def target_ports(self) -> tuple[int, ...]:
        """The distinct TCP ports of the targets, in order: traced hop by hop to find where TCP stops."""
        seen: list[int] = []
        for target in self.targets:
            if target.port not in seen:
                seen.append(target.port)
        return tuple(seen)


def resolve(entry: PathEntry, inventory: InventorySettings, index: int = 0) -> PathPlan:
    hosts = {h.name: h for h in inventory.hosts}
    hops: list[Hop] = []
    for position, name in enumerate(entry.hops):
        host = hosts.get(name)
        if host is None:
            raise PlanError(f"network.paths[{index}].hops[{position}]: {name!r} is not an [[inventory.hosts]] name")
        if not host.addresses:
            raise PlanError(f"network.paths[{index}].hops[{position}]: inventory host {name!r} has no addresses")
        ports = tuple(sorted({s.port for s in inventory.services
                              if s.host == name and s.proto == "tcp" and s.port > 0}))
        hops.append(Hop(name, host.addresses[0], host.role, ports))
    targets = []
    for url in entry.targets:
        scheme, host_name, port = parse_target(url)
        targets.append(Target(url, scheme, host_name, port))
    return PathPlan(entry.name, tuple(hops), tuple(targets), entry)


def resolve_all(paths: list[PathEntry], inventory: InventorySettings,
                only: list[str] | None = None) -> list[PathPlan]:
    known = [p.name for p in paths]
    for name in only or ():
        if name not in known:
            raise PlanError(f"no [[network.paths]] named {name!r}; declared: {', '.join(known) or 'none'}")
    return [resolve(p, inventory, i) for i, p in enumerate(paths) if not only or p.name in only]
