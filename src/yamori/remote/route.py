"""Which machine, reached how: an inventory host resolved into the chain of SSH hops to it.

Pure: reads only the validated [inventory] section. The route's last hop is the target; the
ones before it are jump hosts, outermost first. Every hop must have a pinned host key; a hop
without one cannot be verified, so there is no route (no trust on first use).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..config.inventory import HostEntry, InventorySettings, parse_ssh_target


class RemoteError(RuntimeError):
    """Nothing was run, or the outcome is unknown; the message says which and why."""


class RouteError(RemoteError):
    """The inventory does not say how to reach the host safely (no ssh, no pinned key...)."""


@dataclass(frozen=True, slots=True)
class Hop:
    name: str  # inventory name
    user: str | None
    address: str
    port: int
    host_key: str | None  # pinned "ssh-ed25519 AAAA..."; None only while pinning
    hostname: str  # what `uname -n` must answer
    machine_id: str | None
    identity: str | None

    @property
    def where(self) -> str:
        user = f"{self.user}@" if self.user else ""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{user}{address}:{self.port}"


@dataclass(frozen=True, slots=True)
class Route:
    jumps: tuple[Hop, ...]  # outermost first
    target: Hop

    @property
    def hops(self) -> tuple[Hop, ...]:
        return (*self.jumps, self.target)

    def describe(self) -> str:
        return " -> ".join(f"{h.name} ({h.where})" for h in self.hops)


def hop(entry: HostEntry) -> Hop:
    if entry.ssh is None:
        raise RouteError(f"host {entry.name!r} has no `ssh` address in [[inventory.hosts]]")
    user, address, port = parse_ssh_target(entry.ssh)
    return Hop(entry.name, user, address, port, entry.host_key, entry.expected_hostname, entry.machine_id,
               entry.identity)


def resolve(inventory: InventorySettings, name: str, via: str | None = None, *,
            require_keys: bool = True) -> Route:
    """The route to inventory host `name`; `via` replaces its declared jump host. Every hop
    needs a pinned key (with require_keys=False only the jumps: pinning the target)."""
    entry = inventory.host(name)
    if entry is None:
        known = ", ".join(h.name for h in inventory.hosts if h.ssh) or "none"
        raise RouteError(f"no host {name!r} in [[inventory.hosts]] (hosts with ssh: {known})")
    if via is not None:
        jump = inventory.host(via)
        if jump is None:
            raise RouteError(f"--via {via!r}: no such host in [[inventory.hosts]]")
        if jump.name == entry.name:
            raise RouteError(f"--via {via!r} is the target itself")
        chain = [*inventory.jump_chain(jump.name), jump]
        if any(j.name == entry.name for j in chain):
            raise RouteError(f"--via {via!r} reaches {name!r} through {name!r} itself")
    else:
        chain = inventory.jump_chain(name)
    route = Route(tuple(hop(j) for j in chain), hop(entry))
    for h in route.hops if require_keys else route.jumps:
        if not h.host_key:
            raise RouteError(f"host {h.name!r} has no pinned host_key: run `yamori remote pin {h.name}` "
                             "and add the line it prints to its [[inventory.hosts]] entry")
    return route


def command_line(argv: Sequence[str]) -> str:
    """The one string sshd hands to the remote shell: every argument quoted, so the shell
    sees exactly argv (no word splitting, globbing or `;` from an argument)."""
    if not argv:
        raise RemoteError("no command given")
    for arg in argv:
        if "\0" in arg:
            raise RemoteError("an argument contains a NUL byte")
    return shlex.join(argv)
