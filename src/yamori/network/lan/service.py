"""The agent's neighbour watcher: a dump at start, then netlink events (no polling). A new MAC
for an address or for the default gateway becomes a one-shot alert (Sink.event); IPv6
addresses that failed duplicate address detection are standing findings (Sink.state)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from collections.abc import Callable

from ...config import Settings
from ...records import Finding, Sample, Severity
from ...service import Sink
from . import netlink
from .conflict import Conflict, Tracker
from .findings import conflict_finding, dad_finding
from .model import Neighbour, Snapshot
from .oui import lookup_vendors
from .state import load_tracker, save_tracker, state_path

SAVE_EVERY = 60.0
log = logging.getLogger(__name__)


def services(settings: Settings) -> list[NeighbourService]:
    return [NeighbourService(settings)] if settings.network.lan.enabled else []


def dad_findings(snap: Snapshot, interfaces: list[str]) -> list[Finding]:
    return [dad_finding(a, snap.mac_of(a.interface)) for a in snap.addresses
            if a.dad_failed and (not interfaces or a.interface in interfaces)]


class NeighbourService:
    name = "net.neighbours"

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time,
                 snapshot: Callable[[], Snapshot] = netlink.read_snapshot) -> None:
        self.lan = settings.network.lan
        self.path = state_path(settings)
        self.clock = clock
        self.read_snapshot = snapshot
        self.tracker = Tracker(self.lan.window)
        self.snap = Snapshot()
        self.dirty = False

    def wanted(self, interface: str) -> bool:
        return interface in self.lan.interfaces if self.lan.interfaces else interface != "lo"

    def severity(self, conflict: Conflict) -> Severity:
        own = any(a.address == conflict.address for a in self.snap.addresses)
        gateway = self.snap.is_gateway(conflict.interface, conflict.address)
        return Severity.CRITICAL if own or gateway else Severity.WARNING

    def observe(self, n: Neighbour) -> list[Finding]:
        if not self.wanted(n.interface):
            return []
        self.dirty = True
        conflicts = self.tracker.observe(n.interface, n.address, n.mac, n.time,
                                         gateway=self.snap.is_gateway(n.interface, n.address))
        if not conflicts:
            return []
        vendors = lookup_vendors(self.lan.oui_file, [m for c in conflicts for m in (c.before.mac, c.after.mac)])
        return [conflict_finding(c, vendors, self.severity(c)) for c in conflicts]

    def refresh(self, sink: Sink) -> list[Finding]:
        """Re-read the kernel's view; findings for what changed while we did not listen."""
        self.snap = self.read_snapshot()
        found = [f for n in self.snap.neighbours for f in self.observe(n)]
        sink.state(self.name, dad_findings(self.snap, self.lan.interfaces))
        return found

    def start(self, sink: Sink) -> list[Finding]:
        self.tracker, problems = load_tracker(self.path, self.lan.window)
        for p in problems:
            sink.event(self.name, Finding("net.state_unreadable", Severity.WARNING, str(self.path), p,
                                          "Remove the file; the watcher rebuilds it."))
        return self.refresh(sink)

    def handle(self, changes: list[netlink.Change], sink: Sink) -> None:
        stale = False
        for ch in changes:
            if ch.kind == "neighbour" and isinstance(ch.record, Neighbour) and not ch.deleted:
                for f in self.observe(ch.record):
                    sink.event(self.name, f)
            elif ch.kind != "neighbour":
                stale = True
        if stale:
            for f in self.refresh(sink):
                sink.event(self.name, f)

    def save(self) -> None:
        if self.dirty:
            save_tracker(self.tracker, self.path)
            self.dirty = False

    async def run(self, sink: Sink) -> None:
        events = netlink.EventSocket()     # subscribed before the dump: no change falls between
        try:
            for f in await asyncio.to_thread(self.start, sink):
                sink.event(self.name, f)
        except BaseException:
            events.close()
            raise
        watched = sorted({lk.name for lk in self.snap.links.values() if self.wanted(lk.name)})
        log.info("net.neighbours: watching neighbours on %s", ", ".join(watched) or "no interface yet")
        ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(events.fileno(), ready.set)
        last_save = self.clock()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), SAVE_EVERY)
                ready.clear()
                await self._drain(events, sink)
                if self.clock() - last_save >= SAVE_EVERY:
                    await asyncio.to_thread(self._save_reporting, sink)
                    sink.samples(self.name, [Sample("net_lan_neighbours", float(len(self.snap.neighbours)))])
                    last_save = self.clock()
        finally:
            loop.remove_reader(events.fileno())
            events.close()
            self._save_reporting(sink)

    async def _drain(self, events: netlink.EventSocket, sink: Sink) -> None:
        try:
            changes = events.read(self.snap.links, self.clock())
        except OSError as err:
            if err.errno != errno.ENOBUFS:
                raise
            changes = [netlink.Change("link", False)]    # events were dropped: re-read everything
        if changes:
            await asyncio.to_thread(self.handle, changes, sink)

    def _save_reporting(self, sink: Sink) -> None:
        try:
            self.save()
        except OSError as err:
            sink.event(self.name, Finding("net.state_unwritable", Severity.WARNING, str(self.path),
                                          f"{self.path}: cannot save LAN sightings: {err}",
                                          "Make the agent's state directory writable."))
