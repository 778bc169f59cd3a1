"""The kernel's neighbour table, own addresses and default gateways, through rtnetlink:
one dump (pyroute2 IPRoute) and then a live event stream (RTM_NEWNEIGH, RTM_NEWADDR,
RTM_NEWROUTE, RTM_NEWLINK) read from a non-blocking socket the agent's loop watches.

The event socket is a plain AF_NETLINK socket decoded by pyroute2's marshal: pyroute2's own
socket returns one message per get() and keeps the rest of a datagram buffered, so a
select()-driven reader would see the second of two back-to-back changes only with the next
datagram (measured with pyroute2 0.9.7).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .model import Address, Gateway, Link, Neighbour, Snapshot
from .oui import normalize_mac

# rtnetlink multicast groups (linux/rtnetlink.h)
RTMGRP_LINK = 0x1
RTMGRP_NEIGH = 0x4
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
GROUPS = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE

IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
IFF_UP = 0x1
USER_HZ = 100      # the neighbour cache ages (NDA_CACHEINFO) are clock_t ticks
NUD = {0x01: "incomplete", 0x02: "reachable", 0x04: "stale", 0x08: "delay", 0x10: "probe", 0x20: "failed",
       0x40: "noarp", 0x80: "permanent"}
NO_MAC = {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


@dataclass(frozen=True, slots=True)
class Change:
    """One decoded event: `kind` is neighbour | address | route | link; `record` the new state
    (None for a route or link change: the caller re-reads gateways or links)."""

    kind: str
    deleted: bool
    record: Neighbour | Address | None = None


# -- pure decoders over pyroute2 messages --------------------------------------------------------
def _neighbour(msg: Any, links: dict[int, Link], now: float) -> Neighbour | None:
    name = links[msg["ifindex"]].name if msg["ifindex"] in links else None
    address, raw = msg.get_attr("NDA_DST"), msg.get_attr("NDA_LLADDR")
    mac = normalize_mac(raw) if isinstance(raw, str) else None
    if name is None or not isinstance(address, str) or mac is None or mac in NO_MAC or int(mac[:2], 16) & 1:
        return None     # no link-layer address, or a multicast mapping (33:33:..., 01:00:5e:...)
    state = NUD.get(msg["state"], "")
    if state in ("incomplete", "failed"):
        return None
    info = msg.get_attr("NDA_CACHEINFO") or {}
    age = info.get("ndm_confirmed") if isinstance(info, dict) else None
    at = now - age / USER_HZ if isinstance(age, int) and 0 <= age < 1 << 31 else now
    return Neighbour(name, address, mac, at, state)


def _address(msg: Any, links: dict[int, Link]) -> Address | None:
    name = links[msg["index"]].name if msg["index"] in links else None
    address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
    if name is None or not isinstance(address, str):
        return None
    flags = msg.get_attr("IFA_FLAGS")
    flags = flags if isinstance(flags, int) else msg["flags"]
    return Address(name, address, msg["prefixlen"], msg["family"], bool(flags & IFA_F_DADFAILED),
                   bool(flags & IFA_F_TENTATIVE))


def _link(msg: Any) -> Link:
    raw = msg.get_attr("IFLA_ADDRESS")
    mac = normalize_mac(raw) if isinstance(raw, str) else None
    return Link(msg["index"], str(msg.get_attr("IFLA_IFNAME")), mac, bool(msg["flags"] & IFF_UP))


def _gateways(routes: Iterable[Any], links: dict[int, Link]) -> list[Gateway]:
    found: list[Gateway] = []
    for r in routes:
        gw, oif = r.get_attr("RTA_GATEWAY"), r.get_attr("RTA_OIF")
        if r["dst_len"] == 0 and isinstance(gw, str) and oif in links and r.get_attr("RTA_TABLE") in (None, 254):
            found.append(Gateway(links[oif].name, gw))
    return found


def decode(messages: Iterable[Any], links: dict[int, Link], now: float) -> list[Change]:
    out: list[Change] = []
    for msg in messages:
        event = msg.get("event") or ""
        deleted = event.startswith("RTM_DEL")
        if event.endswith("NEIGH"):
            out.append(Change("neighbour", deleted, _neighbour(msg, links, now)))
        elif event.endswith("ADDR"):
            out.append(Change("address", deleted, _address(msg, links)))
        elif event.endswith("ROUTE"):
            out.append(Change("route", deleted))
        elif event.endswith("LINK"):
            out.append(Change("link", deleted))
    return out


# -- readers -------------------------------------------------------------------------------------
def read_snapshot(now: float | None = None) -> Snapshot:
    """Dump links, addresses, neighbours and default routes of the current namespace."""
    from pyroute2 import IPRoute

    now = time.time() if now is None else now
    snap = Snapshot()
    with IPRoute() as ipr:
        snap.links = {lk.index: lk for lk in map(_link, ipr.get_links())}
        snap.addresses = [a for m in ipr.get_addr() if (a := _address(m, snap.links))]
        snap.neighbours = [n for m in ipr.get_neighbours() if (n := _neighbour(m, snap.links, now))]
        routes = list(ipr.get_routes(family=socket.AF_INET)) + list(ipr.get_routes(family=socket.AF_INET6))
        snap.gateways = _gateways(routes, snap.links)
    return snap


class EventSocket:
    """A non-blocking rtnetlink socket subscribed to GROUPS; read() returns decoded changes."""

    def __init__(self) -> None:
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl

        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, GROUPS))
        self.marshal = MarshalRtnl()

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self, links: dict[int, Link], now: float) -> list[Change]:
        """Everything queued now. Raises OSError(ENOBUFS) when the kernel dropped events:
        the caller must re-read the snapshot."""
        out: list[Change] = []
        for _ in range(1000):     # bounded: a flood is read on the next wake
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                break
            out += decode(self.marshal.parse(data), links, now)
        return out

    def close(self) -> None:
        self.sock.close()
