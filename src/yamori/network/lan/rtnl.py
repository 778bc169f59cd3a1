"""The few rtnetlink messages the LAN watcher reads, decoded by hand (pure: bytes in, dicts of
attributes out), and the dump requests that ask for them.

Why not pyroute2 here: importing it costs the agent ~8.5 MB resident (it loads its whole
package, 160 modules), which put the agent over its 50 MB target for four fixed-layout structs
(linux/rtnetlink.h, linux/if_addr.h, linux/neighbour.h). pyroute2 stays the oracle the tests
decode the same kernel messages with.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

NLMSG = struct.Struct("=IHHII")          # len, type, flags, seq, pid
RTA = struct.Struct("=HH")               # len, type
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30

# fixed headers after nlmsghdr, and the names of the fields we keep
IFINFO = struct.Struct("=BxHiII")        # family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")         # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")      # family, dst_len, src_len, tos, table, protocol, scope, type, flags
NDMSG = struct.Struct("=BxxxiHBB")       # family, ifindex, state, flags, type

KIND = {RTM_NEWLINK: "link", RTM_DELLINK: "link", RTM_NEWADDR: "address", RTM_DELADDR: "address",
        RTM_NEWROUTE: "route", RTM_DELROUTE: "route", RTM_NEWNEIGH: "neighbour", RTM_DELNEIGH: "neighbour"}
DELETES = {RTM_DELLINK, RTM_DELADDR, RTM_DELROUTE, RTM_DELNEIGH}

# attribute numbers
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
NDA_DST, NDA_LLADDR, NDA_CACHEINFO = 1, 2, 3


class NetlinkError(OSError):
    """The kernel refused a request (NLMSG_ERROR with a negative errno)."""


@dataclass(slots=True)
class Message:
    kind: str                    # link | address | route | neighbour
    deleted: bool
    header: dict[str, int]
    attrs: dict[int, bytes] = field(default_factory=dict)


def _attrs(data: bytes, at: int, end: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while at + RTA.size <= end:
        length, kind = RTA.unpack_from(data, at)
        if length < RTA.size or at + length > end:
            break                 # a malformed attribute ends the list, never the reader
        found.setdefault(kind & 0x3FFF, data[at + RTA.size:at + length])
        at += (length + 3) & ~3
    return found


_HEADERS: dict[str, tuple[struct.Struct, tuple[str, ...]]] = {
    "link": (IFINFO, ("family", "type", "index", "flags", "change")),
    "address": (IFADDR, ("family", "prefixlen", "flags", "scope", "index")),
    "route": (RTMSG, ("family", "dst_len", "src_len", "tos", "table", "protocol", "scope", "type", "flags")),
    "neighbour": (NDMSG, ("family", "ifindex", "state", "flags", "type")),
}


def parse(data: bytes) -> Iterator[Message]:
    """Every link/address/route/neighbour message in one netlink datagram; others are skipped.
    Raises NetlinkError for an error message; stops at NLMSG_DONE or at a truncated message."""
    at = 0
    while at + NLMSG.size <= len(data):
        length, kind, _flags, _seq, _pid = NLMSG.unpack_from(data, at)
        if length < NLMSG.size or at + length > len(data):
            return
        body = at + NLMSG.size
        if kind == NLMSG_DONE:
            return
        if kind == NLMSG_ERROR and length >= NLMSG.size + 4:
            errno = -struct.unpack_from("=i", data, body)[0]
            if errno:
                raise NetlinkError(errno, f"netlink request refused: {errno}")
        elif kind in KIND:
            name = KIND[kind]
            fixed, names = _HEADERS[name]
            if body + fixed.size <= at + length:
                header = dict(zip(names, fixed.unpack_from(data, body), strict=True))
                yield Message(name, kind in DELETES, header, _attrs(data, body + fixed.size, at + length))
        at += (length + 3) & ~3


# -- attribute values -------------------------------------------------------------------------------
def ip(raw: bytes | None) -> str | None:
    if raw is None or len(raw) not in (4, 16):
        return None
    return str(ipaddress.ip_address(raw))


def mac(raw: bytes | None) -> str | None:
    if raw is None or len(raw) != 6:
        return None
    return ":".join(f"{b:02x}" for b in raw)


def u32(raw: bytes | None) -> int | None:
    return struct.unpack("=I", raw)[0] if raw is not None and len(raw) == 4 else None


def text(raw: bytes | None) -> str | None:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace") if raw is not None else None


def confirmed_ticks(raw: bytes | None) -> int | None:
    """NDA_CACHEINFO's ndm_confirmed: clock ticks since the neighbour was last confirmed."""
    return struct.unpack_from("=I", raw)[0] if raw is not None and len(raw) >= 16 else None


# -- requests ---------------------------------------------------------------------------------------
_DUMP_BODY = {RTM_GETLINK: IFINFO.size, RTM_GETADDR: IFADDR.size, RTM_GETROUTE: RTMSG.size,
              RTM_GETNEIGH: NDMSG.size}


def dump_request(kind: int, seq: int) -> bytes:
    """A dump request for every family (AF_UNSPEC), all-zero header after nlmsghdr."""
    body = bytes(_DUMP_BODY[kind])
    return NLMSG.pack(NLMSG.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def dump(kind: int, seq: int = 1) -> list[Message]:
    """Ask the kernel for one table and read it to the end."""
    out: list[Message] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
        sock.settimeout(5.0)
        sock.bind((0, 0))
        sock.send(dump_request(kind, seq))
        for _ in range(100_000):    # bounded: a table larger than this is not a LAN
            data = sock.recv(1 << 16)
            out += parse(data)
            if _ends(data):
                break
    return out


def _ends(data: bytes) -> bool:
    """True when the datagram holds NLMSG_DONE (or cannot be walked further)."""
    if len(data) < NLMSG.size:
        return True
    at = 0
    while at + NLMSG.size <= len(data):
        length, kind = NLMSG.unpack_from(data, at)[:2]
        if kind == NLMSG_DONE:
            return True
        if length < NLMSG.size:
            return True
        at += (length + 3) & ~3
    return False
