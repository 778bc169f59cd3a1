"""The kernel's neighbour table, own addresses and default gateways, through rtnetlink: one
dump of each table, then a live event stream (RTM_NEWNEIGH, RTM_NEWADDR, RTM_NEWROUTE,
RTM_NEWLINK) read from a non-blocking socket the agent's loop watches. Messages are decoded by
rtnl.py (see there why not pyroute2)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from . import rtnl
from .model import Address, Gateway, Link, Neighbour, Snapshot

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
RT_TABLE_MAIN = 254
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


# -- pure decoders over rtnl messages ---------------------------------------------------------------
def neighbour(msg: rtnl.Message, links: dict[int, Link], now: float) -> Neighbour | None:
    link = links.get(msg.header["ifindex"])
    address, lladdr = rtnl.ip(msg.attrs.get(rtnl.NDA_DST)), rtnl.mac(msg.attrs.get(rtnl.NDA_LLADDR))
    if link is None or address is None or lladdr is None or lladdr in NO_MAC or int(lladdr[:2], 16) & 1:
        return None     # no link-layer address, or a multicast mapping (33:33:..., 01:00:5e:...)
    state = NUD.get(msg.header["state"], "")
    if state in ("incomplete", "failed"):
        return None
    age = rtnl.confirmed_ticks(msg.attrs.get(rtnl.NDA_CACHEINFO))
    at = now - age / USER_HZ if age is not None and age < 1 << 31 else now
    return Neighbour(link.name, address, lladdr, at, state)


def address(msg: rtnl.Message, links: dict[int, Link]) -> Address | None:
    link = links.get(msg.header["index"])
    value = rtnl.ip(msg.attrs.get(rtnl.IFA_LOCAL)) or rtnl.ip(msg.attrs.get(rtnl.IFA_ADDRESS))
    if link is None or value is None:
        return None
    flags = rtnl.u32(msg.attrs.get(rtnl.IFA_FLAGS))
    flags = msg.header["flags"] if flags is None else flags
    return Address(link.name, value, msg.header["prefixlen"], msg.header["family"],
                   bool(flags & IFA_F_DADFAILED), bool(flags & IFA_F_TENTATIVE))


def link(msg: rtnl.Message) -> Link | None:
    name = rtnl.text(msg.attrs.get(rtnl.IFLA_IFNAME))
    if not name:
        return None
    return Link(msg.header["index"], name, rtnl.mac(msg.attrs.get(rtnl.IFLA_ADDRESS)),
                bool(msg.header["flags"] & IFF_UP))


def gateways(routes: Iterable[rtnl.Message], links: dict[int, Link]) -> list[Gateway]:
    found: list[Gateway] = []
    for r in routes:
        table = rtnl.u32(r.attrs.get(rtnl.RTA_TABLE)) or r.header["table"]
        gw, oif = rtnl.ip(r.attrs.get(rtnl.RTA_GATEWAY)), rtnl.u32(r.attrs.get(rtnl.RTA_OIF))
        if r.header["dst_len"] == 0 and gw is not None and oif in links and table == RT_TABLE_MAIN:
            found.append(Gateway(links[oif].name, gw))
    return found


def decode(messages: Iterable[rtnl.Message], links: dict[int, Link], now: float) -> list[Change]:
    out: list[Change] = []
    for msg in messages:
        if msg.kind == "neighbour":
            out.append(Change("neighbour", msg.deleted, neighbour(msg, links, now)))
        elif msg.kind == "address":
            out.append(Change("address", msg.deleted, address(msg, links)))
        else:
            out.append(Change(msg.kind, msg.deleted))
    return out


# -- readers -------------------------------------------------------------------------------------
def read_snapshot(now: float | None = None) -> Snapshot:
    """Dump links, addresses, neighbours and default routes of the current namespace."""
    now = time.time() if now is None else now
    snap = Snapshot()
    snap.links = {lk.index: lk for m in rtnl.dump(rtnl.RTM_GETLINK, 1) if (lk := link(m))}
    snap.addresses = [a for m in rtnl.dump(rtnl.RTM_GETADDR, 2) if (a := address(m, snap.links))]
    snap.neighbours = [n for m in rtnl.dump(rtnl.RTM_GETNEIGH, 3) if (n := neighbour(m, snap.links, now))]
    snap.gateways = gateways(rtnl.dump(rtnl.RTM_GETROUTE, 4), snap.links)
    return snap


class EventSocket:
    """A non-blocking rtnetlink socket subscribed to GROUPS; read() returns decoded changes."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, GROUPS))

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
            out += decode(rtnl.parse(data), links, now)
        return out

    def close(self) -> None:
        self.sock.close()
