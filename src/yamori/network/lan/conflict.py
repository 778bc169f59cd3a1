"""Duplicate addresses and gateway changes, decided from sightings (pure: no I/O, no clock).

A sighting is (interface, address, MAC, time). An address that shows a second MAC while the
first was seen within `window` is a duplicate (incident 8: a router reset to the other
router's address). The default gateway showing a new MAC is a gateway change however long ago
the old one was seen; flipping back and forth between two MACs is a duplicate. "Before" is the
MAC heard last in arrival order, not the one with the latest time: the kernel dates a sighting by
its last confirmation, so a MAC learnt from an unsolicited ARP carries the old entry's (earlier)
time, and comparing times would take the replacement router's next answer for a flip back. Each conflict is
reported once (the keys of reported conflicts are part of the state), so restarts and repeated
runs do not repeat an alert; a key is forgotten after `remember` seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .oui import normalize_mac

MACS_PER_ADDRESS = 4
MAX_ADDRESSES = 4096
MAX_REPORTED = 4096      # a LAN host forging ARP with random MACs must not grow the state without end
REMEMBER = 7 * 86400.0


@dataclass(slots=True)
class Seen:
    mac: str
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class Conflict:
    kind: str             # "duplicate" | "gateway"
    interface: str
    address: str
    before: Seen          # the MAC seen earlier (for a gateway: the old one)
    after: Seen           # the MAC just seen


class Tracker:
    def __init__(self, window: float, remember: float = REMEMBER) -> None:
        self.window = window
        self.remember = remember
        self.seen: dict[tuple[str, str], list[Seen]] = {}
        self.current: dict[tuple[str, str], str] = {}     # the MAC heard last, in arrival order
        self.reported: dict[str, float] = {}

    def observe(self, interface: str, address: str, mac: str, at: float, *, gateway: bool = False) -> list[Conflict]:
        key = (interface, address)
        entries = self.seen.setdefault(key, [])
        heard = self.current.get(key)
        latest = next((e for e in entries if e.mac == heard), None)
        mine = next((e for e in entries if e.mac == mac), None)
        if mine is not None and at <= mine.last_seen and heard is not None and heard != mac:
            # the same sighting read again (a stale kernel entry the table still holds, dated by
            # its old confirmation): no news, and not "heard last" either
            mine.first_seen = min(mine.first_seen, at)
            return []
        if mine is None:
            mine = Seen(mac, at, at)
            entries.append(mine)
        else:
            mine.first_seen = min(mine.first_seen, at)
            mine.last_seen = max(mine.last_seen, at)
        self.current[key] = mac
        self._trim(entries)
        if latest is None or latest.mac == mac:
            return []
        return self._decide(interface, address, latest, mine, at, gateway, new=mine.first_seen == at)

    def _decide(self, interface: str, address: str, before: Seen, after: Seen, at: float, gateway: bool,
                new: bool) -> list[Conflict]:
        recent = at - before.last_seen <= self.window
        if gateway and new:
            kind = "gateway"
        elif recent:
            kind = "duplicate"
        else:
            return []
        pair = sorted((before.mac, after.mac)) if kind == "duplicate" else [before.mac, after.mac]
        key = "|".join((kind, interface, address, *pair))
        if key in self.reported:
            return []
        self.reported[key] = at
        self._expire(at)
        return [Conflict(kind, interface, address, Seen(before.mac, before.first_seen, before.last_seen),
                         Seen(after.mac, after.first_seen, after.last_seen))]

    def _trim(self, entries: list[Seen]) -> None:
        if len(entries) > MACS_PER_ADDRESS:
            entries.sort(key=lambda e: e.last_seen, reverse=True)
            del entries[MACS_PER_ADDRESS:]
        if len(self.seen) > MAX_ADDRESSES:
            stalest = min(self.seen, key=lambda k: max(e.last_seen for e in self.seen[k]))
            del self.seen[stalest]
            self.current.pop(stalest, None)

    def _expire(self, now: float) -> None:
        for key in [k for k, t in self.reported.items() if now - t > self.remember]:
            del self.reported[key]
        if len(self.reported) > MAX_REPORTED:      # drop the oldest quarter at once, not one per call
            for key in sorted(self.reported, key=self.reported.__getitem__)[:MAX_REPORTED // 4]:
                del self.reported[key]

    def history(self, interface: str, address: str) -> list[Seen]:
        return list(self.seen.get((interface, address), []))

    # -- state (JSON) ----------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"version": 1,
                "seen": [{"interface": i, "address": a, "mac": e.mac, "first_seen": e.first_seen,
                          "last_seen": e.last_seen} for (i, a), es in self.seen.items() for e in es],
                "reported": self.reported}

    def load(self, data: object) -> list[str]:
        """Merge a dumped state (another writer's, or ours from before); returns what was not
        understood. The file may have been edited by anyone: every field is checked."""
        problems: list[str] = []
        if not isinstance(data, dict) or data.get("version") != 1:
            return ["not a yamori LAN state (version 1)"]
        for n, row in enumerate(data.get("seen") or []):
            seen = _row(row)
            if seen is None:
                problems.append(f"seen[{n}]: not an interface/address/mac/first_seen/last_seen record")
                continue
            interface, address, entry = seen
            self._merge(interface, address, entry)
        for key, entries in self.seen.items():      # heard nothing yet here: the latest in the file
            if entries and key not in self.current:
                self.current[key] = max(entries, key=lambda e: e.last_seen).mac
        reported = data.get("reported") or {}
        if isinstance(reported, dict):
            for key, at in reported.items():
                if isinstance(key, str) and isinstance(at, int | float):
                    self.reported[key] = max(float(at), self.reported.get(key, 0.0))
        return problems

    def _merge(self, interface: str, address: str, entry: Seen) -> None:
        key = (interface, address)
        entries = self.seen.setdefault(key, [])
        mine = next((e for e in entries if e.mac == entry.mac), None)
        if mine is None:
            entries.append(entry)
        else:
            mine.first_seen = min(mine.first_seen, entry.first_seen)
            mine.last_seen = max(mine.last_seen, entry.last_seen)
        self._trim(entries)


def _row(row: object) -> tuple[str, str, Seen] | None:
    if not isinstance(row, dict):
        return None
    interface, address, mac = row.get("interface"), row.get("address"), row.get("mac")
    first, last = row.get("first_seen"), row.get("last_seen")
    if not (isinstance(interface, str) and isinstance(address, str) and isinstance(mac, str)
            and isinstance(first, int | float) and isinstance(last, int | float)):
        return None
    norm = normalize_mac(mac)
    if norm is None or len(interface) > 64 or len(address) > 64:
        return None
    return interface, address, Seen(norm, float(first), float(last))


def dumps(tracker: Tracker) -> str:
    return json.dumps(tracker.dump(), separators=(",", ":"))
