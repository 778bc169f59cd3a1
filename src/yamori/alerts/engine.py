"""The alerting engine: probe results in, alert states and queued notifications out, and a
delivery loop that empties the outbox through the configured notifiers.

Decisions are made by the pure state machine (`state.step`) and the threshold rules
(`rules.evaluate`); this module only feeds them, persists what they decide and delivers.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config.alerts import AlertsSettings, RuleSettings
from ..probe import ProbeResult
from ..records import Finding, Sample, Severity, State
from ..redact import scrub
from .messages import Notification
from .notifier import DeliveryError, Notifier, build_notifiers
from .outbox import Outbox, OutboxError, Pending
from .rules import describe, evaluate, index_rules, matches, merge_rules
from .state import Alert, Kind, Transition, acknowledge, active_only, step
from .status import DATABASE, DeliveryStatus, delivery_status

__all__ = ["Alert", "Alerting", "DeliveryStatus", "Transition"]

log = logging.getLogger("yamori.alerts")

PROBE_UNKNOWN = "probe.unknown"
NOTIFY_FAILING = "notify.failing"
EVENT_WINDOW_WITHOUT_REPEAT = 86400.0
"""With repeat = 0 an event (check, subject) is still announced again after a day."""
IDLE_WAIT = 300.0
PRUNE_EVERY = 3600.0


@dataclass(slots=True)
class _Batch:
    """What one observation changed, written in one transaction."""

    changed: dict[tuple[str, str], Alert] = field(default_factory=dict)
    removed: set[tuple[str, str]] = field(default_factory=set)
    transitions: list[Transition] = field(default_factory=list)
    event: tuple[str, str] | None = None


class Alerting:
    def __init__(self, settings: AlertsSettings, state_dir: Path, hostname: str,
                 clock: Callable[[], float] = time.time,
                 default_rules: Sequence[RuleSettings | Mapping[str, object]] | None = None) -> None:
        self.settings = settings
        self.hostname = hostname
        self.clock = clock
        self.rules = merge_rules(default_rules, settings.rules)
        self._by_metric = index_rules(self.rules)
        self._rule_names = {rule.name for rule in self.rules}
        self.notifiers: dict[str, Notifier] = {n.name: n for n in build_notifiers(settings)}
        self.outbox = Outbox(Path(state_dir) / DATABASE)
        self.alerts: dict[tuple[str, str], Alert] = {a.key: a for a in self.outbox.load_alerts()}
        self.outbox.release(clock())
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pruned = 0.0

    # -- observing --------------------------------------------------------------------------
    def observe(self, result: ProbeResult) -> list[Transition]:
        """A probe's result: its findings become alerts; threshold rules run over its samples.
        A failed probe (UNKNOWN) keeps its alerts as they were and raises probe.unknown."""
        now = self.clock()
        batch = _Batch()
        if result.state is State.UNKNOWN:
            self._step(batch, result.name, PROBE_UNKNOWN, result.name, State.UNKNOWN, now,
                       hold=self.settings.unknown_for, message=f"probe {result.name} is not working: {result.reason}",
                       advice=f"Run `yamori check --only {result.name}` to see the error. Until the probe works "
                              "again its alerts stay as they were.")
            return self._commit(batch, now)
        if (PROBE_UNKNOWN, result.name) in self.alerts:
            self._step(batch, result.name, PROBE_UNKNOWN, result.name, State.OK, now)
        self._findings(batch, result.name, result.findings, now)
        self._thresholds(batch, result.name, result.samples, now)
        return self._commit(batch, now)

    def observe_state(self, source: str, findings: list[Finding]) -> list[Transition]:
        """A service's standing findings, with the same semantics as a probe's findings."""
        now = self.clock()
        batch = _Batch()
        self._findings(batch, source, findings, now)
        return self._commit(batch, now)

    def observe_event(self, source: str, finding: Finding) -> bool:
        """A one-shot event (a ban, an intrusion attempt): notified once per (check, subject)
        within `repeat`. Returns True if a notification was queued."""
        if finding.severity is Severity.INFO:
            return False
        now = self.clock()
        window = self.settings.repeat or EVENT_WINDOW_WITHOUT_REPEAT
        last = self.outbox.event_last(finding.check, finding.subject)
        if last is not None and now - last < window:
            return False
        state = State.from_severity(finding.severity)
        batch = _Batch(event=(finding.check, finding.subject))
        batch.transitions.append(Transition(finding.check, finding.subject, source, Kind.EVENT, state, State.OK,
                                            now, now, finding.message, finding.advice))
        self._commit(batch, now)
        return True

    def report(self, source: str, check: str, subject: str, text: str) -> None:
        """A periodic report (the guard's daily digest): mailed as it is, no alert state."""
        now = self.clock()
        batch = _Batch()
        batch.transitions.append(Transition(check, subject, source, Kind.REPORT, State.OK, State.OK,
                                            now, now, text, ""))
        self._commit(batch, now)

    def _findings(self, batch: _Batch, source: str, findings: list[Finding], now: float) -> None:
        worst: dict[tuple[str, str], Finding] = {}
        for finding in findings:
            if finding.severity is Severity.INFO:
                continue  # information is stored by the agent, not alerted on
            key = (finding.check, finding.subject)
            if key not in worst or finding.severity.rank > worst[key].severity.rank:
                worst[key] = finding
        for (check, subject), finding in worst.items():
            self._step(batch, source, check, subject, State.from_severity(finding.severity), now,
                       message=finding.message, advice=finding.advice)
        for key, alert in list(self.alerts.items()):
            gone = key not in worst and alert.source == source and alert.rule not in self._rule_names
            if gone and alert.rule not in (PROBE_UNKNOWN, NOTIFY_FAILING):
                self._step(batch, source, alert.rule, alert.subject, State.OK, now)

    def _thresholds(self, batch: _Batch, source: str, samples: list[Sample], now: float) -> None:
        seen: set[tuple[str, str]] = set()
        alerting = {rule for rule, _ in self.alerts}  # rules with a live alert: the only ones that need keys
        for sample in samples:
            for rule in self._by_metric.get(sample.metric, ()):
                if not matches(rule, sample):
                    continue
                if rule.name not in alerting and evaluate(rule, sample.value).state is State.OK:
                    continue  # the common case, kept cheap: nothing wrong, nothing to keep
                key = (rule.name, sample.series_key())
                seen.add(key)
                alert = self.alerts.get(key)
                verdict = evaluate(rule, sample.value, alert.condition if alert else State.OK)
                if alert is None and verdict.state is State.OK:
                    continue
                self._step(batch, source, rule.name, key[1], verdict.state, now, hold=rule.for_,
                           message=describe(rule, sample, verdict), advice=rule.advice)
        for key, alert in list(self.alerts.items()):
            if alert.source == source and alert.rule in self._rule_names and key not in seen:
                self._step(batch, source, alert.rule, alert.subject, State.OK, now)  # the series is gone

    def _step(self, batch: _Batch, source: str, rule: str, subject: str, condition: State, now: float, *,
              hold: float = 0.0, message: str = "", advice: str = "") -> None:
        key = (rule, subject)
        old = self.alerts.get(key) or Alert(rule, subject, source)
        new, change = step(old, condition, now, hold=hold, repeat=self.settings.repeat,
                           message=message, advice=advice, flap_limit=self.settings.flapping)
        if new.idle(now):
            if self.alerts.pop(key, None) is not None:
                batch.removed.add(key)
                batch.changed.pop(key, None)
        elif new != old:
            self.alerts[key] = batch.changed[key] = new
        if change is not None:
            batch.transitions.append(change)

    def _commit(self, batch: _Batch, now: float) -> list[Transition]:
        if not (batch.changed or batch.removed or batch.transitions or batch.event):
            return []
        notes = [Notification.of(self.hostname, change) for change in batch.transitions]
        try:
            self.outbox.commit(batch.changed.values(), batch.removed, notes, list(self.notifiers), now,
                               event=batch.event)
        except (OutboxError, sqlite3.Error) as err:  # a full disk must not stop the agent
            log.error("alerts: cannot write %s: %s", self.outbox.path, err)
        if notes:
            self._wake.set()
        for change in batch.transitions:
            log.info("alert %s %s %s -> %s: %s", change.rule, change.subject, change.previous.label,
                     change.state.label, change.message)
        return batch.transitions

    def acknowledge(self, rule: str, subject: str, who: str) -> Alert | None:
        """`who` has seen the active alert (rule, subject): no reminders until its state
        changes. None when no such alert is active."""
        alert = self.alerts.get((rule, subject))
        if alert is None or alert.state is State.OK:
            return None
        now = self.clock()
        new = acknowledge(alert, who, now)
        batch = _Batch()
        self.alerts[new.key] = batch.changed[new.key] = new
        self._commit(batch, now)
        log.info("alert %s %s acknowledged by %s: no reminders until it changes", rule, subject, who)
        return new

    # -- reading ------------------------------------------------------------------------------
    def active(self) -> list[Alert]:
        """Alerts that are not OK (pending ones are not announced yet, so not listed)."""
        return active_only(self.alerts.values())

    def delivery_status(self) -> DeliveryStatus:
        return delivery_status(self.settings, self.outbox)

    # -- delivering -----------------------------------------------------------------------
    async def deliver_pending(self) -> int:
        """One pass over due outbox rows, oldest first; returns how many were delivered.
        A notifier that fails is not tried again in this pass."""
        async with self._lock:
            delivered = 0
            blocked: set[str] = set()
            for item in self.outbox.due(self.clock(), list(self.notifiers)):
                if item.notifier in blocked:
                    continue
                if await self._deliver(item):
                    delivered += 1
                else:
                    blocked.add(item.notifier)
            self._prune()
            return delivered

    async def _deliver(self, item: Pending) -> bool:
        notifier = self.notifiers[item.notifier]
        try:
            await notifier.send(item.note)
        except DeliveryError as err:
            error = str(err)
        except Exception as err:  # a notifier's bug is a failed delivery, not a dead loop
            error = f"{type(err).__name__}: {err}"
        else:
            self.outbox.delivered(item.note.id, item.notifier, self.clock())
            if (NOTIFY_FAILING, item.notifier) in self.alerts:
                self._notifier_health(item.notifier, State.OK, "")
            return True
        error = scrub(error)  # into the log, the database and the notify.failing alert: no secret URL
        now = self.clock()
        retry_at = now + self._backoff(item.attempts + 1)
        failures = self.outbox.failed(item.note.id, item.notifier, error, now, retry_at)
        log.warning("alerts: %s failed (attempt %d, next in %.0fs): %s", item.notifier, item.attempts + 1,
                    retry_at - now, error)
        if failures >= self.settings.failing_after:
            self._notifier_health(item.notifier, State.WARNING, error)
        return False

    def _notifier_health(self, notifier: str, condition: State, error: str) -> None:
        now = self.clock()
        batch = _Batch()
        self._step(batch, "notify", NOTIFY_FAILING, notifier, condition, now,
                   message=f"alerts cannot be delivered by {notifier}: {error}" if error else "",
                   advice="Check the mail server or webhook named in the error; `yamori notify test` tries every "
                          "notifier at once. Waiting notifications are kept and sent when it works again.")
        self._commit(batch, now)

    def _backoff(self, attempts: int) -> float:
        return float(min(self.settings.retry_max, self.settings.retry_first * 2 ** min(attempts - 1, 30)))

    def _prune(self) -> None:
        now = self.clock()
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            self.outbox.prune(now)

    async def run(self) -> None:
        """Deliver until cancelled: wakes when something is queued or a retry is due."""
        while True:
            try:
                await self.deliver_pending()
            except (OutboxError, sqlite3.Error) as err:
                log.error("alerts: outbox %s: %s", self.outbox.path, err)
            try:
                async with asyncio.timeout(self._wait()):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    def _wait(self) -> float:
        due = self.outbox.next_due(list(self.notifiers))
        if due is None:
            return IDLE_WAIT
        return min(max(due - self.clock(), 0.01), IDLE_WAIT)

    def close(self) -> None:
        self.outbox.close()
