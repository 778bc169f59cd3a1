"""Whether alerts reach anyone: configured notifiers, the outbox backlog, the last failure.

An alert nobody receives is the incident itself (INCIDENTS.md #2), so this is shown by
`yamori run`, `yamori check`, `yamori alerts` and the status page, not only logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.alerts import AlertsSettings
from .notifier import build_notifiers
from .outbox import NotifierStat, Outbox
from .state import Alert, active_only
from .timefmt import iso_time

DATABASE = "alerts.sqlite"

NOT_CONFIGURED = (
    "no notifier is configured: alerts will not reach anyone — set [alerts.email] to = [\"you@example.org\"] "
    "(with host, port and security of your mail server) or [alerts.webhook] url in yamori.toml, "
    "then run `yamori notify test`"
)


@dataclass(frozen=True, slots=True)
class NotifierState:
    name: str
    description: str
    failures: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "last_success_at": _iso(self.last_success_at),
        }


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    notifiers: list[NotifierState] = field(default_factory=list)
    pending: int = 0

    @property
    def configured(self) -> bool:
        return bool(self.notifiers)

    @property
    def failing(self) -> list[NotifierState]:
        return [n for n in self.notifiers if n.failures > 0]

    @property
    def last_error(self) -> str | None:
        """The newest error of a notifier that is failing now (a healed one is not news)."""
        failing = sorted(self.failing, key=lambda n: n.last_error_at or 0.0)
        return failing[-1].last_error if failing else None

    @property
    def last_success_at(self) -> float | None:
        stamps = [n.last_success_at for n in self.notifiers if n.last_success_at is not None]
        return max(stamps, default=None)

    @property
    def warning(self) -> str | None:
        if not self.configured:
            return NOT_CONFIGURED
        if self.failing:
            names = ", ".join(f"{n.name} ({n.failures} failed attempt(s): {n.last_error})" for n in self.failing)
            return f"alerts are not being delivered: {names}; {self.pending} waiting in the outbox"
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "notifiers": [n.as_json() for n in self.notifiers],
            "pending": self.pending,
            "last_error": self.last_error,
            "last_success": _iso(self.last_success_at),
            "warning": self.warning,
        }


def delivery_status(settings: AlertsSettings, outbox: Outbox | None) -> DeliveryStatus:
    """Status from the config (which notifiers) and the outbox (how they fare); `outbox`
    may be None when the agent has not run yet."""
    configured = build_notifiers(settings)
    names = [n.name for n in configured]
    stats: dict[str, NotifierStat] = {s.name: s for s in outbox.notifier_stats()} if outbox else {}
    states = []
    for notifier in configured:
        stat = stats.get(notifier.name)
        if stat is None:
            states.append(NotifierState(notifier.name, notifier.describe()))
        else:
            states.append(NotifierState(notifier.name, notifier.describe(), stat.failures, stat.last_error,
                                        stat.last_error_at, stat.last_success_at))
    pending = outbox.pending_count(names) if outbox and names else 0
    return DeliveryStatus(states, pending)


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else iso_time(stamp)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What `yamori alerts` shows: read from the agent's database without disturbing it."""

    database: Path
    exists: bool
    alerts: list[Alert]
    delivery: DeliveryStatus


def read_snapshot(settings: AlertsSettings, state_dir: Path) -> Snapshot:
    """Active alerts and delivery status from `state_dir`, opened read-only (the agent may be
    running). Raises OutboxError naming the file when it cannot be read."""
    path = Path(state_dir) / DATABASE
    if not path.exists():
        return Snapshot(path, False, [], delivery_status(settings, None))
    outbox = Outbox(path, readonly=True)
    try:
        return Snapshot(path, True, active_only(outbox.load_alerts()), delivery_status(settings, outbox))
    finally:
        outbox.close()
