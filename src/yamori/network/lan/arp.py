"""RFC 5227 ARP probes: "who has T?" with sender IP 0.0.0.0, so no neighbour's cache is
changed, and every device that answers for T is heard. Two answers for one address is a
conflict; an answer for one of our own addresses is a conflict.

Frames are built and parsed here (pure); `probe()` is the thin raw-socket I/O (AF_PACKET needs
CAP_NET_RAW, as arping does)."""

from __future__ import annotations

import ipaddress
import select
import socket
import struct
import time
from dataclasses import dataclass

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6
ARP_REQUEST, ARP_REPLY = 1, 2
PACKET_OUTGOING = 4
_ARP = struct.Struct("!HHBBH6s4s6s4s")
FRAME_MIN = 14 + _ARP.size


@dataclass(frozen=True, slots=True)
class ArpPacket:
    op: int
    sender_mac: str
    sender_ip: str
    target_ip: str


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def build_probe(own_mac: str, target: str) -> bytes:
    """An Ethernet broadcast frame carrying an ARP probe for `target` (RFC 5227 §2.1.1)."""
    mac = _mac_bytes(own_mac)
    arp = _ARP.pack(1, 0x0800, 6, 4, ARP_REQUEST, mac, b"\0" * 4, b"\0" * 6,
                    ipaddress.IPv4Address(target).packed)
    return BROADCAST + mac + struct.pack("!H", ETH_P_ARP) + arp


def parse_frame(frame: bytes) -> ArpPacket | None:
    """An Ethernet/IPv4 ARP packet, or None for anything else (short, other protocol, junk)."""
    if len(frame) < FRAME_MIN or struct.unpack_from("!H", frame, 12)[0] != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, op, sha, spa, _tha, tpa = _ARP.unpack_from(frame, 14)
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4) or op not in (ARP_REQUEST, ARP_REPLY):
        return None
    return ArpPacket(op, _mac_text(sha), str(ipaddress.IPv4Address(spa)), str(ipaddress.IPv4Address(tpa)))


def claims(packets: list[ArpPacket], targets: set[str], own_mac: str) -> dict[str, list[str]]:
    """{target: [MACs that claimed it]}: any ARP packet whose sender IP is the target (RFC 5227
    §2.1.1: requests count as well as replies), in the order heard, our own frames excluded."""
    found: dict[str, list[str]] = {t: [] for t in targets}
    for p in packets:
        if p.sender_ip in found and p.sender_mac != own_mac and p.sender_mac not in found[p.sender_ip]:
            found[p.sender_ip].append(p.sender_mac)
    return found


# -- I/O -----------------------------------------------------------------------------------------
def probe(interface: str, own_mac: str, targets: list[str], *, wait: float = 1.0, count: int = 2,
          spacing: float = 0.02) -> dict[str, list[str]]:
    """Probe each target on `interface` `count` times and listen `wait` seconds after the last
    one. Raises PermissionError without CAP_NET_RAW, OSError when the interface is gone."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    try:
        sock.bind((interface, ETH_P_ARP))
        heard: list[ArpPacket] = []
        for _ in range(count):
            for target in targets:
                sock.send(build_probe(own_mac, target))
                heard += _listen(sock, spacing)
        heard += _listen(sock, wait)
    finally:
        sock.close()
    return claims(heard, set(targets), own_mac)


def _listen(sock: socket.socket, seconds: float) -> list[ArpPacket]:
    heard: list[ArpPacket] = []
    end = time.monotonic() + seconds
    for _ in range(100_000):   # bounded even on a flooded link
        left = end - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            break
        frame, addr = sock.recvfrom(2048)
        if addr[2] == PACKET_OUTGOING:
            continue
        packet = parse_frame(frame)
        if packet is not None:
            heard.append(packet)
    return heard
