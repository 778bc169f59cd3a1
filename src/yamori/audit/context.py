"""What every audit check may know besides the file it reads: the operator's declared world."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..config.inventory import InventorySettings, ServiceEntry
from ..inventory import Inventory, IPAddress, IPNetwork

LOOPBACK_NETS: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
WORLD_NETS: tuple[IPNetwork, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


@dataclass(slots=True)
class AuditContext:
    inventory: Inventory = field(default_factory=Inventory)
    superusers: frozenset[str] = frozenset({"postgres"})
    # The addresses of the machine a keepalived file belongs to; None = unknown.
    director_addresses: frozenset[IPAddress] | None = None
    # PostgreSQL ports from postgresql.conf (5432 when nothing says otherwise).
    pg_ports: set[int] = field(default_factory=lambda: {5432})
    # scram-sha-256 exists from PostgreSQL 10; False only when a connected server is older.
    scram_available: bool = True

    @classmethod
    def from_inventory(cls, settings: InventorySettings, **kw: object) -> AuditContext:
        return cls(inventory=Inventory(settings), **kw)  # type: ignore[arg-type]

    @property
    def has_networks(self) -> bool:
        return bool(self.inventory.networks)

    def declared(self, net: IPNetwork) -> str | None:
        """The inventory network (or host) that contains `net`, by name; None if undeclared."""
        if is_loopback(net):
            return "loopback"
        for entry in self.inventory.networks:
            if entry.network.version == net.version and net.subnet_of(entry.network):  # type: ignore[arg-type]
                return entry.name
        if net.num_addresses == 1:
            host = self.inventory.host_addresses.get(str(net.network_address))
            if host:
                return host
        return None

    def services(self) -> list[ServiceEntry]:
        """Declared services plus PostgreSQL's port(s) when the operator did not declare them."""
        declared = list(self.inventory.settings.services)
        for port in sorted(self.pg_ports):
            if not any(s.port == port and s.proto == "tcp" for s in declared):
                declared.append(ServiceEntry(name="postgresql", port=port, proto="tcp", allowed_from=[]))
        return declared

    def allowed_sources(self, service: ServiceEntry) -> list[IPNetwork]:
        return list(LOOPBACK_NETS) + self.inventory.resolve_sources(service.allowed_from)


def is_loopback(net: IPNetwork) -> bool:
    return any(net.version == lo.version and net.subnet_of(lo) for lo in LOOPBACK_NETS)  # type: ignore[arg-type]


def is_world(net: IPNetwork) -> bool:
    return net.prefixlen == 0
