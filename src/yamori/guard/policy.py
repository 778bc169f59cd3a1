"""What to do about each authentication failure: pure, with an injectable clock.

- an untrusted event (suspected log injection): an alert of its own, never a ban;
- a private-range source outside the operator's declared networks: a CRITICAL alert at once,
  naming the range and what it tried (incident 1), then banned like an internet source;
- a source never seen before in one of the operator's networks: a warning, never a ban;
- an internet source: banned after `max_failures` within `window`, longer for repeat offenders;
- loopback, the operator's networks and the allowlist are never banned, nor anything else the
  host depends on (resolvers, mail relay, webhook host, gateways, inventory hosts: protect.py).
Memory is bounded: per-source state lives in LRU maps with a fixed number of entries.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from ..config.guard import GuardSettings
from ..inventory import Inventory, Zone
from ..records import AuthEvent, Finding, Severity
from .protect import Protected

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A dict that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.size:
            self.data.popitem(last=False)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Ban:
    address: str
    seconds: int
    offense: int
    comment: str


@dataclass
class Decision:
    findings: list[Finding] = field(default_factory=list)
    ban: Ban | None = None


def _what(ev: AuthEvent) -> str:
    """What a source tried, in words; names shown escaped (they are attacker-chosen)."""
    def q(text: str | None) -> str:
        return "-" if text is None else repr(text)[1:-1][:80]
    return f"{ev.kind} as user '{q(ev.user)}' on database '{q(ev.database)}'"


def refused(ban: Ban, why: str) -> Finding:
    return Finding(
        "guard.ban_refused", Severity.WARNING, ban.address,
        f"{ban.address} reached the ban threshold ({ban.comment}) but is never banned: {why}",
        "The host depends on this address; a log naming it may be forged. Look at the log lines named in "
        "the guard's events, and at who can reach PostgreSQL.")


def event_epoch(ev: AuthEvent) -> float | None:
    if not ev.time:
        return None
    try:
        stamp = datetime.fromisoformat(ev.time)
    except ValueError:
        return None
    return stamp.timestamp() if stamp.tzinfo else None


class Policy:
    def __init__(self, settings: GuardSettings, inventory: Inventory, *, clock: Callable[[], float] = time.time,
                 max_sources: int = 100_000, known_operator_sources: set[str] | None = None,
                 protected: Protected | None = None) -> None:
        self.s = settings
        self.protected = protected   # what the host depends on: never banned (guard/protect.py)
        self.inventory = inventory
        self.clock = clock
        # one small list per source, [banned_until, offenses, failure times...]: one LRU entry each
        self.sources: LRU[str, list[float]] = LRU(max_sources)
        self.known: set[str] = set(known_operator_sources or ())   # bounded by the operator's own networks

    def observe(self, ev: AuthEvent) -> Decision:
        decision = Decision()
        if not ev.trusted:
            # one subject per log file, not per line: a flood of hostile names must not become a
            # flood of mail (alerts are de-duplicated per check and subject)
            where_seen = f"{ev.file or 'log'}:{ev.line or '?'}"
            decision.findings.append(Finding(
                "guard.log_injection", Severity.WARNING, ev.file or "log",
                f"suspected log-injection attempt at {where_seen}: a {ev.kind} record could not be attributed "
                f"to one connection (names with quotes, newlines or log-like text); nothing was banned from it",
                "Look at the lines around it; the real source is the backend's own connection line.",
                ev.file, ev.line))
            return decision
        if ev.source is None:
            if ev.source_network:
                decision.findings += self._network(ev)
            return decision
        try:
            where = self.inventory.classify(ev.source)
        except ValueError:
            return decision   # a host name (log_hostname): never banned, never guessed
        now = self.clock()
        at = event_epoch(ev) or now
        if where.zone is Zone.LOOPBACK:
            return decision
        if where.zone is Zone.OPERATOR:
            if ev.source not in self.known:
                self.known.add(ev.source)
                decision.findings.append(Finding(
                    "guard.new_operator_source", Severity.WARNING, ev.source,
                    f"{ev.source}, never seen before, in your network {where.network} (role {where.role}), "
                    f"failed to log in to PostgreSQL: {_what(ev)}",
                    "Check which machine has this address and why it connects; operator networks are never banned."))
            return decision
        if where.zone is Zone.PRIVATE:
            decision.findings.append(Finding(
                "guard.private_source", Severity.CRITICAL, ev.source,
                f"authentication failure from {ev.source}, a private address in {where.network} that is not "
                f"one of your declared networks: {_what(ev)}",
                "Internet scanners never come from private ranges: find the machine, and check pg_hba.conf and "
                "the firewall for rules allowing networks you no longer have (yamori audit)."))
        if self.inventory.is_allowlisted(ev.source):
            return decision
        decision.ban = self._count(ev.source, at, now, ev)
        why = self.protected.why(ev.source) if decision.ban and self.protected is not None else None
        if why is not None and decision.ban is not None:
            decision.findings.append(refused(decision.ban, why))
            decision.ban = None
        return decision

    def _network(self, ev: AuthEvent) -> list[Finding]:
        """No address, but the pg_hba.conf rule it matched names a network: classified by it (a
        password failure through a rule for an undeclared private network is incident 1). Never
        a ban: one address of the network is not known."""
        import ipaddress

        from ..inventory import PRIVATE_RANGES

        try:
            net = ipaddress.ip_network(ev.source_network or "", strict=False)
        except ValueError:
            return []
        if any(n.network.version == net.version and net.subnet_of(n.network)  # type: ignore[arg-type]
               for n in self.inventory.networks):
            return []
        for name, private in PRIVATE_RANGES:
            if private.version == net.version and net.subnet_of(private):  # type: ignore[arg-type]
                return [Finding(
                    "guard.private_source", Severity.CRITICAL, str(net),
                    f"authentication failure through the pg_hba.conf rule for {net}, inside {name}, which is "
                    f"not one of your declared networks: {_what(ev)}",
                    "The log has no address (log_connections = off); the rule it matched allows a private "
                    "network you did not declare. Check pg_hba.conf and the firewall (yamori audit).")]
        return []

    def _count(self, source: str, at: float, now: float, ev: AuthEvent) -> Ban | None:
        window = self.s.window
        if now - at > window:
            return None      # an old record (backlog): counted by the digest, not banned for
        entry = self.sources.get(source) or [0.0, 0.0]
        if entry[0] > now:
            return None
        times = [t for t in entry[2:] if at - t <= window] + [at]
        if len(times) < self.s.max_failures:
            self.sources.put(source, entry[:2] + times[-self.s.max_failures:])
            return None
        offense = int(entry[1]) + 1
        seconds = int(min(self.s.ban_time * 2 ** (offense - 1), self.s.max_ban_time))
        self.sources.put(source, [now + seconds, float(offense)])
        return Ban(source, seconds, offense,
                   f"yamori: {len(times)} auth failures in {int(window)}s, offense {offense}, last {ev.kind}")

    def restore(self, address: str, until: float, offense: int) -> None:
        """Bans persisted before a restart keep counting toward repeat offenses."""
        self.sources.put(address, [until, float(offense)])
