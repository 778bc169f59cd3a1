"""The pure state machine and threshold rules, driven by an explicit clock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from yamori.alerts.rules import evaluate, merge_rules
from yamori.alerts.state import FLAP_QUIET, Alert, Kind, acknowledge, step
from yamori.config.alerts import RuleSettings
from yamori.records import State

DISK = RuleSettings.model_validate({"name": "disk.full", "metric": "disk_used_percent", "warning": 90,
                                    "critical": 95, "hysteresis": 5})


def fresh() -> Alert:
    return Alert("disk.full", "/", "system")


def test_fires_at_once_without_for() -> None:
    alert, change = step(fresh(), State.CRITICAL, 100.0, message="md1 degraded")
    assert alert.state is State.CRITICAL and alert.since == 100.0
    assert change is not None and change.kind is Kind.PROBLEM and change.previous is State.OK


def test_for_keeps_it_pending_until_held_long_enough() -> None:
    alert, change = step(fresh(), State.WARNING, 100.0, hold=300)
    assert change is None and alert.pending and alert.state is State.OK
    alert, change = step(alert, State.WARNING, 399.0, hold=300)
    assert change is None
    alert, change = step(alert, State.WARNING, 400.0, hold=300)
    assert change is not None and change.kind is Kind.PROBLEM
    assert alert.since == 100.0, "since = when the condition began, not when `for` ran out"


def test_a_blip_shorter_than_for_is_forgotten_silently() -> None:
    alert, _ = step(fresh(), State.UNKNOWN, 100.0, hold=300)
    alert, change = step(alert, State.OK, 200.0, hold=300)
    assert change is None and alert.idle(200.0)
    alert, change = step(alert, State.UNKNOWN, 250.0, hold=300)
    alert, change = step(alert, State.UNKNOWN, 500.0, hold=300)
    assert change is None, "the pending period restarts after the blip cleared"


def test_escalation_and_recovery() -> None:
    alert, _ = step(fresh(), State.WARNING, 0.0)
    alert, change = step(alert, State.CRITICAL, 10.0)
    assert change is not None and change.kind is Kind.CHANGE and change.previous is State.WARNING
    alert, change = step(alert, State.OK, 20.0)
    assert change is not None and change.kind is Kind.RECOVERY and change.previous is State.CRITICAL
    assert change.message == alert.message, "a recovery repeats what the problem was"
    assert not alert.idle(20.0), "kept an hour: the flapping count needs its recent changes"
    assert alert.idle(20.0 + 3600)


def test_acknowledged_alert_sends_no_reminders_until_it_changes() -> None:
    alert, _ = step(fresh(), State.WARNING, 0.0)
    alert = acknowledge(alert, "operator", 10.0)
    for now in (3600.0, 7200.0, 50_000.0):
        alert, change = step(alert, State.WARNING, now, repeat=3600)
        assert change is None, "acknowledged: no reminder"
    alert, change = step(alert, State.CRITICAL, 60_000.0, repeat=3600)
    assert change is not None and change.kind is Kind.CHANGE, "getting worse is news all the same"
    assert alert.acknowledged_by == "" and alert.acknowledged_at is None, "and wants a new acknowledgement"
    alert, change = step(alert, State.CRITICAL, 63_600.0, repeat=3600)
    assert change is not None and change.kind is Kind.REPEAT
    alert = acknowledge(alert, "operator", 63_700.0)
    assert alert.as_json()["acknowledged_by"] == "operator" and alert.as_json()["acknowledged_at"]
    alert, change = step(alert, State.OK, 64_000.0, repeat=3600)
    assert change is not None and change.kind is Kind.RECOVERY and alert.acknowledged_by == ""


def test_repeat_interval() -> None:
    alert, _ = step(fresh(), State.CRITICAL, 0.0)
    alert, change = step(alert, State.CRITICAL, 3599.0, repeat=3600)
    assert change is None
    alert, change = step(alert, State.CRITICAL, 3600.0, repeat=3600)
    assert change is not None and change.kind is Kind.REPEAT
    alert, change = step(alert, State.CRITICAL, 3700.0, repeat=3600)
    assert change is None
    _, change = step(alert, State.CRITICAL, 10**6, repeat=0)
    assert change is None, "repeat 0 = never"


def test_flapping_is_quieted_then_caught_up() -> None:
    alert, now, sent = fresh(), 0.0, 0
    for i in range(21):  # WARNING, OK, WARNING, ... ending on WARNING, every 30 s
        alert, change = step(alert, State.WARNING if i % 2 == 0 else State.OK, now)
        sent += change is not None
        now += 30
    assert alert.flapping
    assert sent <= 7, "a bouncing value must not send a mail per bounce"
    assert alert.state is State.WARNING and alert.announced is State.OK, "the last bounce was held back"
    # it stays WARNING: after the quiet period the receiver learns the real state
    alert, change = step(alert, State.WARNING, now + FLAP_QUIET)
    assert change is not None and change.kind is Kind.PROBLEM and change.previous is State.OK
    assert alert.announced is State.WARNING


def test_hysteresis_clears_only_below_threshold_minus_hysteresis() -> None:
    assert evaluate(DISK, 89.9).state is State.OK
    assert evaluate(DISK, 90.0).state is State.WARNING
    assert evaluate(DISK, 86.0, State.WARNING).state is State.WARNING
    assert evaluate(DISK, 85.0, State.WARNING).state is State.WARNING
    assert evaluate(DISK, 84.9, State.WARNING).state is State.OK
    assert evaluate(DISK, 92.0, State.CRITICAL).state is State.CRITICAL
    assert evaluate(DISK, 89.0, State.CRITICAL).state is State.WARNING
    assert evaluate(DISK, float("nan"), State.WARNING).state is State.WARNING


def test_below_rules_mirror() -> None:
    fan = RuleSettings.model_validate({"name": "fan.slow", "metric": "fan_rpm", "above": False,
                                       "critical": 300, "hysteresis": 100})
    assert evaluate(fan, 300).state is State.CRITICAL
    assert evaluate(fan, 350, State.CRITICAL).state is State.CRITICAL
    assert evaluate(fan, 401, State.CRITICAL).state is State.OK


def test_configured_rule_overrides_default_of_same_name() -> None:
    defaults = [{"name": "disk.full", "metric": "disk_used_percent", "warning": 80, "critical": 90,
                 "above": True, "for": "5m", "advice": "free space"},
                {"name": "load.high", "metric": "load1", "warning": 8, "above": True, "for": 0, "advice": ""}]
    merged = {r.name: r for r in merge_rules(defaults, [DISK])}
    assert merged["disk.full"].warning == 90 and merged["disk.full"].for_ == 0
    assert merged["load.high"].warning == 8


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 200, allow_nan=False), st.sampled_from(list(State)))
def test_hysteresis_never_raises_and_never_lowers_a_fresh_verdict(value: float, current: State) -> None:
    fresh_state = evaluate(DISK, value).state
    held = evaluate(DISK, value, current).state
    rank = {State.OK: 0, State.UNKNOWN: 0, State.WARNING: 1, State.CRITICAL: 2}
    assert rank[held] >= rank[fresh_state]
    assert rank[held] <= max(rank[fresh_state], rank[current])


class AlertMachine(RuleBasedStateMachine):
    """Random conditions over time: what is announced always tells the receiver the truth."""

    def __init__(self) -> None:
        super().__init__()
        self.alert = fresh()
        self.now = 0.0
        self.told: State = State.OK  # what the receiver of notifications believes
        self.hold = 120.0

    @rule(condition=st.sampled_from(list(State)), dt=st.floats(0, 2000))
    def observe(self, condition: State, dt: float) -> None:
        self.now += dt
        before = self.alert
        self.alert, change = step(self.alert, condition, self.now, hold=self.hold, repeat=3600)
        if change is not None:
            assert change.previous is self.told or change.kind is Kind.REPEAT
            assert change.kind is not Kind.RECOVERY or change.state is State.OK
            self.told = change.state
        if condition is State.OK:
            assert self.alert.state is State.OK
        if before.state is State.OK and self.alert.state is not State.OK:
            assert self.now - self.alert.since >= self.hold, "fired before the condition held for `for`"

    @invariant()
    def announced_matches_receiver(self) -> None:
        assert self.alert.announced is self.told


AlertMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestAlertMachine = AlertMachine.TestCase
