"""`yamori net neighbours`: probe the declared and own IPv4 addresses on this host's links now,
fold in the kernel's neighbour table, and list what is on the LAN with first/last seen."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...config import Settings
from ...records import Finding, Severity
from . import arp, netlink
from .conflict import Seen, Tracker
from .findings import conflict_finding, dad_finding, probe_finding, when
from .model import Neighbour, Snapshot
from .oui import lookup_vendors
from .state import load_tracker, save_tracker, state_path

Prober = Callable[[str, str, list[str]], dict[str, list[str]]]


@dataclass(slots=True)
class ScanResult:
    neighbours: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # what could not be done (no CAP_NET_RAW ...)

    def as_json(self) -> dict[str, Any]:
        return {"neighbours": self.neighbours,
                "findings": [{k: f.as_json()[k] for k in ("check", "severity", "subject", "message", "advice")}
                             for f in self.findings]}


@dataclass(frozen=True, slots=True)
class Claim:
    """The MACs that answered RFC 5227 probes for one address on one link."""

    interface: str
    address: str
    macs: list[str]
    own_mac: str
    at: float

    def finding(self, snap: Snapshot, vendors: dict[str, str]) -> Finding | None:
        answers = [Seen(m, self.at, self.at) for m in self.macs]
        if self.macs and any(a.address == self.address for a in snap.addresses):
            return probe_finding(self.interface, self.address, answers, vendors, own_mac=self.own_mac)
        if len(self.macs) >= 2:
            return probe_finding(self.interface, self.address, answers, vendors)
        return None


def probe_targets(snap: Snapshot, declared: list[str], wanted: Callable[[str], bool],
                  limit: int) -> dict[str, list[str]]:
    """{interface: [IPv4 addresses to probe]}: the host's own addresses, and declared addresses
    inside a prefix configured on that interface (same link). Never anything else."""
    out: dict[str, list[str]] = {}
    total = 0
    for a in snap.addresses:
        if a.family != socket.AF_INET or not wanted(a.interface) or not _up(snap, a.interface):
            continue
        net = ipaddress.ip_network(f"{a.address}/{a.prefixlen}", strict=False)
        mine = [a.address] + [d for d in declared if _in(d, net) and d != a.address]
        for target in mine:
            if total < limit and target not in out.setdefault(a.interface, []):
                out[a.interface].append(target)
                total += 1
    return {k: v for k, v in out.items() if v}


def _up(snap: Snapshot, interface: str) -> bool:
    return any(lk.name == interface and lk.up and lk.mac for lk in snap.links.values())


def _in(address: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.version == 4 and ip in net and ip not in (net.network_address, net.broadcast_address)


class NeighbourScan:
    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time,
                 snapshot: Callable[[], Snapshot] = netlink.read_snapshot, prober: Prober | None = None) -> None:
        self.settings = settings
        self.lan = settings.network.lan
        self.clock = clock
        self.read_snapshot = snapshot
        self.prober = prober or self._arp

    def _arp(self, interface: str, own_mac: str, targets: list[str]) -> dict[str, list[str]]:
        return arp.probe(interface, own_mac, targets, wait=self.lan.probe_wait, count=self.lan.probe_count)

    def wanted(self, interface: str) -> bool:
        return interface in self.lan.interfaces if self.lan.interfaces else interface != "lo"

    def declared(self) -> dict[str, str]:
        return {a: h.name for h in self.settings.inventory.hosts for a in h.addresses}

    def run(self, *, persist: bool = True, history: bool = True) -> ScanResult:
        """`history`: also report conflicts seen over time (the watcher reports those itself)."""
        result = ScanResult()
        path = state_path(self.settings)
        tracker, problems = load_tracker(path, self.lan.window)
        result.problems += problems
        snap = self.read_snapshot()
        claims = self._probe(snap, result)
        sightings = [n for n in snap.neighbours if self.wanted(n.interface)] + \
            [Neighbour(c.interface, c.address, m, c.at) for c in claims for m in c.macs]
        vendors = lookup_vendors(self.lan.oui_file, [n.mac for n in sightings] + [c.own_mac for c in claims])
        over_time = self._observe(tracker, snap, sightings, vendors)
        result.findings = _dedupe([f for c in claims if (f := c.finding(snap, vendors))]
                                  + (over_time if history else [])
                                  + [dad_finding(a, snap.mac_of(a.interface)) for a in snap.addresses
                                     if a.dad_failed and self.wanted(a.interface)])
        result.neighbours = self._listing(tracker, sightings, vendors, {a.address for a in snap.addresses})
        if persist:
            try:
                save_tracker(tracker, path)
            except OSError as err:
                result.problems.append(f"{path}: cannot save sightings: {err}")
        return result

    def _observe(self, tracker: Tracker, snap: Snapshot, sightings: list[Neighbour],
                 vendors: dict[str, str]) -> list[Finding]:
        own = {a.address for a in snap.addresses}
        found: list[Finding] = []
        for n in sorted(sightings, key=lambda n: n.time):
            for c in tracker.observe(n.interface, n.address, n.mac, n.time,
                                     gateway=snap.is_gateway(n.interface, n.address)):
                vendors |= lookup_vendors(self.lan.oui_file, [c.before.mac, c.after.mac])
                severity = Severity.CRITICAL if c.address in own or c.kind == "gateway" else Severity.WARNING
                found.append(conflict_finding(c, vendors, severity))
        return found

    # -- probes ----------------------------------------------------------------------------
    def _probe(self, snap: Snapshot, result: ScanResult) -> list[Claim]:
        claims: list[Claim] = []
        targets = probe_targets(snap, list(self.declared()), self.wanted, self.lan.max_addresses)
        for interface, addresses in targets.items():
            own_mac = snap.mac_of(interface) or ""
            try:
                answers = self.prober(interface, own_mac, addresses)
            except OSError as err:
                result.problems.append(f"ARP probes on {interface} not sent: {err}"
                                       + (" (needs root or CAP_NET_RAW)" if isinstance(err, PermissionError) else ""))
                continue
            now = self.clock()
            claims += [Claim(interface, address, macs, own_mac, now) for address, macs in answers.items()]
        return claims

    def _listing(self, tracker: Tracker, sightings: list[Neighbour], vendors: dict[str, str],
                 own: set[str]) -> list[dict[str, Any]]:
        declared = self.declared()
        current = {(n.interface, n.address, n.mac) for n in sightings if n.address not in own}
        rows = []
        for interface, address, mac in sorted(current, key=_sort_key):
            hist = next((s for s in tracker.history(interface, address) if s.mac == mac), None)
            first, last = (hist.first_seen, hist.last_seen) if hist else (None, None)
            rows.append({"address": address, "mac": mac, "vendor": vendors.get(mac, ""), "interface": interface,
                         "first_seen": when(first) if first else None, "last_seen": when(last) if last else None,
                         "known": address in declared})
        return rows


def _sort_key(row: tuple[str, str, str]) -> tuple[str, int, int, str]:
    ip = ipaddress.ip_address(row[1])
    return row[0], ip.version, int(ip), row[2]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str], Finding] = {}
    for f in findings:
        seen.setdefault((f.check, f.subject), f)     # the probe's finding (first) wins
    return sorted(seen.values(), key=lambda f: -f.severity.rank)
