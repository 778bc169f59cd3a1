"""The alert state machine: pure, no I/O, no clock (time is an argument).

An alert is keyed by (rule, subject). Each evaluation hands `step` the condition the source
reports now; `step` decides whether that becomes a state change worth a notification:

- a non-OK condition must hold for `hold` seconds (pending) before the alert fires;
- once fired, a change of severity (WARNING -> CRITICAL) is reported at once;
- a return to OK is reported at once (hysteresis, applied by the rules, stops flapping);
- a still-active alert is re-notified every `repeat` seconds (0 = never), unless someone
  acknowledged it: then it stays quiet until its state changes (a change clears the mark);
- an alert that changes state too often is marked flapping: its changes are still recorded
  but only every `FLAP_QUIET` seconds notified, so a bouncing sensor cannot flood the mailbox.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..records import State
from .timefmt import iso_time

FLAP_WINDOW = 3600.0
"""Look-back window for counting state changes."""
FLAP_CHANGES = 6
"""More changes than this inside FLAP_WINDOW = flapping."""
FLAP_QUIET = 900.0
"""While flapping, at most one notification per alert in this many seconds."""


class Kind(enum.StrEnum):
    """Why a notification is sent."""

    PROBLEM = "problem"      # OK -> not OK
    CHANGE = "change"        # not OK -> another not-OK state
    RECOVERY = "recovery"    # not OK -> OK
    REPEAT = "repeat"        # still not OK after `repeat`
    EVENT = "event"          # one-shot event (guard ban, ...), no state
    TEST = "test"            # `yamori notify test`
    REPORT = "report"        # a periodic report (the guard's daily digest), no state


@dataclass(frozen=True, slots=True)
class Alert:
    """The state of one (rule, subject). `condition` is what the source says now; `state` is
    what has been announced. They differ while a condition is pending its `for`."""

    rule: str
    subject: str
    source: str
    state: State = State.OK
    since: float = 0.0
    condition: State = State.OK
    condition_since: float = 0.0
    message: str = ""
    advice: str = ""
    notified_at: float | None = None
    announced: State = State.OK
    changes: tuple[float, ...] = ()
    acknowledged_by: str = ""            # who said "seen, working on it" (no reminders meanwhile)
    acknowledged_at: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.subject)

    @property
    def pending(self) -> bool:
        return self.condition is not State.OK and self.condition is not self.state

    @property
    def flapping(self) -> bool:
        return len(self.changes) > FLAP_CHANGES

    def idle(self, now: float) -> bool:
        """OK, nothing pending, nothing left to announce and no recent changes (the flapping
        count needs them): nothing worth keeping."""
        settled = self.state is State.OK and self.condition is State.OK and self.announced is State.OK
        return settled and (not self.changes or now - self.changes[-1] >= FLAP_WINDOW)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "state": self.state.label,
            "since": iso_time(self.since),
            "message": self.message,
            "advice": self.advice,
            "source": self.source,
            "flapping": self.flapping,
            "acknowledged_by": self.acknowledged_by or None,
            "acknowledged_at": iso_time(self.acknowledged_at) if self.acknowledged_at is not None else None,
        }


_ORDER = {State.CRITICAL: 0, State.UNKNOWN: 1, State.WARNING: 2, State.OK: 3}


def active_only(alerts: Iterable[Alert]) -> list[Alert]:
    """Announced, not-OK alerts, worst first, then oldest first."""
    found = [a for a in alerts if a.state is not State.OK]
    return sorted(found, key=lambda a: (_ORDER[a.state], a.since, a.rule, a.subject))


@dataclass(frozen=True, slots=True)
class Transition:
    """A decision to notify: what changed, from what, since when."""

    rule: str
    subject: str
    source: str
    kind: Kind
    state: State
    previous: State
    since: float
    time: float
    message: str
    advice: str

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "source": self.source,
            "kind": str(self.kind),
            "state": self.state.label,
            "previous": self.previous.label,
            "since": self.since,
            "time": self.time,
            "message": self.message,
            "advice": self.advice,
        }


def step(alert: Alert, condition: State, now: float, *, hold: float = 0.0, repeat: float = 0.0,
         message: str = "", advice: str = "", flap_limit: int = FLAP_CHANGES) -> tuple[Alert, Transition | None]:
    """Feed one observation of (rule, subject) to its alert; returns the new alert and the
    transition to notify, if any. `flap_limit` 0 turns flapping protection off."""
    text = message or alert.message
    tip = advice or alert.advice
    if condition is State.OK:
        return _to_ok(alert, now, text, tip, flap_limit)
    began = alert.condition_since if alert.condition is not State.OK else now
    current = replace(alert, condition=condition, condition_since=began, message=text, advice=tip)
    if alert.state is condition:
        if alert.announced is not condition:
            return _catch_up(current, now)
        return _maybe_repeat(current, now, repeat)
    if alert.state is State.OK and now - began < hold:
        return current, None  # pending: the condition has not held for `for` yet
    since = began if alert.state is State.OK else now
    return _change(current, condition, since, now, _kind(alert.state, condition), flap_limit)


def acknowledge(alert: Alert, who: str, now: float) -> Alert:
    """`who` has seen the alert: no reminders until its state changes (worse, better or over)."""
    return replace(alert, acknowledged_by=who, acknowledged_at=now)


def _to_ok(alert: Alert, now: float, message: str, advice: str, flap_limit: int) -> tuple[Alert, Transition | None]:
    cleared = replace(alert, condition=State.OK, condition_since=now)
    if alert.state is State.OK:
        if alert.announced is not State.OK:
            return _catch_up(cleared, now)
        # a pending condition that never fired goes away silently
        return (alert if alert.condition is State.OK else cleared), None
    return _change(replace(cleared, message=message, advice=advice), State.OK, now, now, Kind.RECOVERY, flap_limit)


def _kind(before: State, after: State) -> Kind:
    if after is State.OK:
        return Kind.RECOVERY
    return Kind.PROBLEM if before is State.OK else Kind.CHANGE


def _change(alert: Alert, state: State, since: float, now: float, kind: Kind,
            flap_limit: int) -> tuple[Alert, Transition | None]:
    changes = (*(t for t in alert.changes if now - t < FLAP_WINDOW), now)
    flapping = 0 < flap_limit < len(changes)
    quiet = flapping and alert.notified_at is not None and now - alert.notified_at < FLAP_QUIET
    new = replace(alert, state=state, since=since, changes=changes, acknowledged_by="", acknowledged_at=None)
    if quiet or state is alert.announced:
        return new, None  # flapping, or back to what the receiver was last told
    return replace(new, notified_at=now, announced=state), _transition(new, kind, alert.announced, now)


def _catch_up(alert: Alert, now: float) -> tuple[Alert, Transition | None]:
    """After a quiet (flapping) spell, announce the state the receiver has not heard of."""
    if alert.notified_at is not None and now - alert.notified_at < FLAP_QUIET:
        return alert, None
    kind = _kind(alert.announced, alert.state)
    new = replace(alert, notified_at=now, announced=alert.state)
    return new, _transition(new, kind, alert.announced, now)


def _maybe_repeat(alert: Alert, now: float, repeat: float) -> tuple[Alert, Transition | None]:
    last = alert.notified_at if alert.notified_at is not None else alert.since
    if repeat <= 0 or alert.acknowledged_by or now - last < repeat:
        return alert, None
    new = replace(alert, notified_at=now)
    return new, _transition(new, Kind.REPEAT, alert.state, now)


def _transition(alert: Alert, kind: Kind, previous: State, now: float) -> Transition:
    return Transition(alert.rule, alert.subject, alert.source, kind, alert.state, previous,
                      alert.since, now, alert.message, alert.advice)
