"""Findings of the LAN domain, in plain words: both MACs, their vendors, when each was seen."""

from __future__ import annotations

from datetime import UTC, datetime

from ...records import Finding, Severity
from .conflict import Conflict, Seen
from .model import Address

DUPLICATE = "net.duplicate_address"
GATEWAY = "net.gateway_changed"

DUPLICATE_ADVICE = ("Find both devices (the switch's MAC table, the vendors named here) and give one of them "
                    "another address or fix its DHCP reservation; a router reset to factory defaults often "
                    "takes the address of the other router.")
GATEWAY_ADVICE = ("If the router was replaced on purpose, nothing to do. Otherwise another device now answers "
                  "for the gateway (a reset or second router, or ARP spoofing): find the new MAC on the switch.")
DAD_ADVICE = ("Another device on the link already uses this IPv6 address; the kernel will not use it. "
              "Find it (ip -6 neigh, the switch's MAC table) and change one of the two addresses.")


def when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _who(seen: Seen, vendors: dict[str, str]) -> str:
    vendor = vendors.get(seen.mac) or "vendor unknown"
    span = when(seen.first_seen) if seen.first_seen == seen.last_seen else \
        f"{when(seen.first_seen)} to {when(seen.last_seen)}"
    return f"{seen.mac} ({vendor}; seen {span})"


def conflict_finding(conflict: Conflict, vendors: dict[str, str], severity: Severity = Severity.WARNING) -> Finding:
    a, b = _who(conflict.before, vendors), _who(conflict.after, vendors)
    if conflict.kind == "gateway":
        return Finding(GATEWAY, Severity.WARNING, conflict.address,
                       f"The default gateway {conflict.address} on {conflict.interface} changed its MAC address "
                       f"from {a} to {b}.", GATEWAY_ADVICE)
    return Finding(DUPLICATE, severity, conflict.address,
                   f"{conflict.address} on {conflict.interface} is claimed by two devices: {a} and {b}.",
                   DUPLICATE_ADVICE)


def probe_finding(interface: str, address: str, answers: list[Seen], vendors: dict[str, str], *,
                  own_mac: str | None = None) -> Finding:
    """Two or more answers to one RFC 5227 probe (or any answer for our own address)."""
    whos = " and ".join(_who(s, vendors) for s in answers)
    if own_mac is not None:
        mine = f"{own_mac} ({vendors.get(own_mac) or 'vendor unknown'}; this host)"
        return Finding(DUPLICATE, Severity.CRITICAL, address,
                       f"{address} on {interface} is this host's address, {mine}, and is also claimed by "
                       f"{whos}.", DUPLICATE_ADVICE)
    return Finding(DUPLICATE, Severity.CRITICAL, address,
                   f"{address} on {interface} answered ARP probes from {len(answers)} devices: {whos}.",
                   DUPLICATE_ADVICE)


def dad_finding(address: Address, own_mac: str | None) -> Finding:
    mac = f" (this interface: {own_mac})" if own_mac else ""
    return Finding(DUPLICATE, Severity.CRITICAL, address.address,
                   f"{address.address} on {address.interface}{mac} failed IPv6 duplicate address detection "
                   "(dadfailed): another device on the link answered for it; its MAC is not known from DAD.",
                   DAD_ADVICE)
