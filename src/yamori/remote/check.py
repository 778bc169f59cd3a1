"""`yamori remote check`: is every declared host reachable through its jump host, and is it
the machine it should be? One record per host, states like `yamori check`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..config.inventory import InventorySettings
from ..records import State, worst_state
from .connect import CONNECT_TIMEOUT, RefusedError, UnreachableError, open_route
from .identity import Mismatch
from .route import RemoteError, RouteError, resolve
from .runner import verify


@dataclass(frozen=True, slots=True)
class HostCheck:
    name: str
    state: State
    message: str
    route: str = ""
    hostname: str | None = None
    machine_id: str | None = None
    key_fingerprint: str | None = None
    mismatches: tuple[Mismatch, ...] = field(default=())
    failed_hop: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"host": self.name, "state": self.state.label, "message": self.message, "route": self.route,
                "hostname": self.hostname, "machine_id": self.machine_id, "host_key": self.key_fingerprint,
                "mismatches": [m.as_json() for m in self.mismatches], "failed_hop": self.failed_hop}


def declared(inventory: InventorySettings) -> list[str]:
    """Hosts yamori may reach by SSH: those with an `ssh` address."""
    return [h.name for h in inventory.hosts if h.ssh]


async def check_host(inventory: InventorySettings, name: str, timeout: float = CONNECT_TIMEOUT) -> HostCheck:
    try:
        route = resolve(inventory, name)
    except RouteError as err:
        return HostCheck(name, State.WARNING, str(err))
    text = route.describe()
    try:
        async with open_route(route, timeout) as connection:
            verified = await verify(connection, route)
    except RefusedError as err:
        return HostCheck(name, State.CRITICAL, str(err), text, mismatches=tuple(err.mismatches), failed_hop=err.hop)
    except UnreachableError as err:
        return HostCheck(name, State.CRITICAL, str(err), text, failed_hop=err.hop)
    except RemoteError as err:
        return HostCheck(name, State.CRITICAL, str(err), text)
    return HostCheck(name, State.OK, f"verified: {verified.describe()}", text, verified.hostname,
                     verified.machine_id, verified.key_fingerprint)


async def check_hosts(inventory: InventorySettings, names: list[str], timeout: float = CONNECT_TIMEOUT,
                      parallel: int = 8) -> list[HostCheck]:
    gate = asyncio.Semaphore(parallel)

    async def one(name: str) -> HostCheck:
        async with gate:
            return await check_host(inventory, name, timeout)

    return list(await asyncio.gather(*(one(n) for n in names)))


def report(checks: list[HostCheck]) -> dict[str, Any]:
    state = worst_state([c.state for c in checks]) if checks else State.UNKNOWN
    return {"state": state.label, "hosts": [c.as_json() for c in checks]}
