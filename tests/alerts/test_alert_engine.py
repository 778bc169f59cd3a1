"""The engine fed with probe results under an injected clock: alerts, recoveries, probe
failures, threshold rules, events, and state that survives a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from yamori.alerts.engine import Alerting
from yamori.alerts.state import Kind
from yamori.config.alerts import AlertsSettings
from yamori.probe import ProbeResult
from yamori.records import Finding, Sample, Severity, State


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


DEGRADED = Finding("raid.degraded", Severity.CRITICAL, "md1", "array md1 is degraded: 1 of 2 members active",
                   "sdf3 is marked failed. Find its serial number: `smartctl -i /dev/sdf`")
DISK_RULE = {"name": "disk.full", "metric": "disk_used_percent", "warning": 90, "critical": 95,
             "hysteresis": 5, "for": "2m", "advice": "Free space or grow the filesystem."}


def probe(name: str, *findings: Finding, samples: list[Sample] | None = None) -> ProbeResult:
    worst = max((State.from_severity(f.severity) for f in findings), default=State.OK)
    return ProbeResult(name, worst, "ok", samples or [], list(findings))


def failed(name: str, reason: str = "timed out after 10s") -> ProbeResult:
    return ProbeResult(name, State.UNKNOWN, reason)


def disk(value: float, mount: str = "/") -> Sample:
    return Sample("disk_used_percent", value, {"mount": mount}, "%")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(tmp_path: Path, clock: Clock) -> Iterator[Alerting]:
    settings = AlertsSettings.model_validate({"rules": [DISK_RULE]})
    alerting = Alerting(settings, tmp_path, "db1", clock=clock)
    yield alerting
    alerting.close()


def notifications(state_dir: Path) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(state_dir / "alerts.sqlite") as db:
        return db.execute("SELECT rule, subject, kind, state FROM notification ORDER BY id").fetchall()


def test_a_finding_alerts_and_recovers_when_no_longer_reported(engine: Alerting, clock: Clock,
                                                                tmp_path: Path) -> None:
    [change] = engine.observe(probe("raid", DEGRADED))
    assert (change.rule, change.subject, change.state, change.kind) == ("raid.degraded", "md1", State.CRITICAL,
                                                                        Kind.PROBLEM)
    assert [a.as_json()["state"] for a in engine.active()] == ["CRITICAL"]
    clock.now += 60
    assert engine.observe(probe("raid", DEGRADED)) == [], "a standing alert is not re-sent every cycle"
    clock.now += 60
    [recovery] = engine.observe(probe("raid"))
    assert recovery.kind is Kind.RECOVERY and recovery.previous is State.CRITICAL
    assert engine.active() == []
    assert [n[2] for n in notifications(tmp_path)] == ["problem", "recovery"]


def test_info_findings_are_not_alerts(engine: Alerting) -> None:
    note = Finding("raid.check", Severity.INFO, "md1", "a scheduled check is running")
    assert engine.observe(probe("raid", note)) == []
    assert engine.active() == []


def test_a_failed_probe_keeps_its_alerts_and_raises_probe_unknown_after_for(engine: Alerting, clock: Clock) -> None:
    engine.observe(probe("raid", DEGRADED))
    clock.now += 30
    assert engine.observe(failed("raid")) == [], "probe.unknown waits its `for` (5 min) so a blip does not page"
    assert [a.rule for a in engine.active()] == ["raid.degraded"], "the failure does not clear the RAID alert"
    clock.now += 299
    assert engine.observe(failed("raid")) == []
    clock.now += 1
    [unknown] = engine.observe(failed("raid", "mdadm: cannot open /dev/md1"))
    assert (unknown.rule, unknown.subject, unknown.state) == ("probe.unknown", "raid", State.UNKNOWN)
    assert "mdadm: cannot open /dev/md1" in unknown.message
    clock.now += 10
    changes = engine.observe(probe("raid", DEGRADED))
    assert [(c.rule, c.kind) for c in changes] == [("probe.unknown", Kind.RECOVERY)]
    assert [a.rule for a in engine.active()] == ["raid.degraded"]


def test_a_probe_blip_shorter_than_for_sends_nothing(engine: Alerting, clock: Clock, tmp_path: Path) -> None:
    engine.observe(failed("hwmon"))
    clock.now += 60
    assert engine.observe(probe("hwmon")) == []
    assert notifications(tmp_path) == []


def test_threshold_rule_with_for_and_hysteresis(engine: Alerting, clock: Clock) -> None:
    assert engine.observe(probe("system", samples=[disk(91)])) == [], "pending: `for` is 2 minutes"
    clock.now += 119
    assert engine.observe(probe("system", samples=[disk(92)])) == []
    clock.now += 1
    [fired] = engine.observe(probe("system", samples=[disk(92)]))
    assert (fired.rule, fired.subject, fired.state) == ("disk.full", 'disk_used_percent{mount="/"}', State.WARNING)
    assert "92 %" in fired.message and "warning threshold 90" in fired.message
    assert fired.advice == "Free space or grow the filesystem."
    clock.now += 60
    assert engine.observe(probe("system", samples=[disk(86)])) == [], "86 is within the hysteresis band"
    clock.now += 60
    [cleared] = engine.observe(probe("system", samples=[disk(84)]))
    assert cleared.kind is Kind.RECOVERY


def test_threshold_alert_clears_when_its_series_disappears(engine: Alerting, clock: Clock) -> None:
    engine.observe(probe("system", samples=[disk(99, "/srv")]))
    clock.now += 120
    assert [c.state for c in engine.observe(probe("system", samples=[disk(99, "/srv")]))] == [State.CRITICAL]
    clock.now += 60
    [gone] = engine.observe(probe("system", samples=[disk(10, "/")]))
    assert gone.kind is Kind.RECOVERY and gone.subject == 'disk_used_percent{mount="/srv"}'


def test_configured_rules_override_defaults(tmp_path: Path, clock: Clock) -> None:
    defaults = [{**DISK_RULE, "warning": 50, "critical": 60, "for": 0},
                {"name": "load.high", "metric": "load1", "warning": 4, "above": True, "for": 0, "advice": "x"}]
    settings = AlertsSettings.model_validate({"rules": [DISK_RULE]})
    engine = Alerting(settings, tmp_path, "db1", clock=clock, default_rules=defaults)
    changes = engine.observe(probe("system", samples=[disk(70), Sample("load1", 5.0)]))
    assert [c.rule for c in changes] == ["load.high"], "disk.full uses the configured 90 %, not the default 50 %"
    engine.close()


def test_state_survives_a_restart_without_an_alert_storm(tmp_path: Path, clock: Clock) -> None:
    first = Alerting(AlertsSettings(), tmp_path, "db1", clock=clock)
    first.observe(probe("raid", DEGRADED))
    first.close()
    clock.now += 600
    second = Alerting(AlertsSettings(), tmp_path, "db1", clock=clock)
    assert [(a.rule, a.subject, a.since) for a in second.active()] == [("raid.degraded", "md1", clock.now - 600)]
    assert second.observe(probe("raid", DEGRADED)) == [], "no re-alert after restart"
    assert [c.kind for c in second.observe(probe("raid"))] == [Kind.RECOVERY]
    second.close()


def test_repeat_renotifies_a_standing_alert(tmp_path: Path, clock: Clock) -> None:
    engine = Alerting(AlertsSettings.model_validate({"repeat": "1h"}), tmp_path, "db1", clock=clock)
    engine.observe(probe("raid", DEGRADED))
    clock.now += 3600
    assert [c.kind for c in engine.observe(probe("raid", DEGRADED))] == [Kind.REPEAT]
    engine.close()


def test_an_acknowledgement_stops_reminders_across_a_restart(tmp_path: Path, clock: Clock) -> None:
    settings = AlertsSettings.model_validate({"repeat": "1h"})
    engine = Alerting(settings, tmp_path, "db1", clock=clock)
    engine.observe(probe("raid", DEGRADED))
    assert engine.acknowledge("raid.degraded", "md9", "operator") is None, "no such alert"
    assert engine.acknowledge("raid.degraded", "md1", "operator") is not None
    engine.close()
    again = Alerting(settings, tmp_path, "db1", clock=clock)
    [alert] = again.active()
    assert alert.acknowledged_by == "operator" and alert.as_json()["acknowledged_by"] == "operator"
    for _ in range(3):
        clock.now += 3600
        assert again.observe(probe("raid", DEGRADED)) == [], "acknowledged: no reminder"
    assert [c.kind for c in again.observe(probe("raid"))] == [Kind.RECOVERY]
    clock.now += 60
    again.observe(probe("raid", DEGRADED))
    clock.now += 3600
    assert [c.kind for c in again.observe(probe("raid", DEGRADED))] == [Kind.REPEAT], "a new problem, a new ack"
    again.close()
    with sqlite3.connect(tmp_path / "alerts.sqlite") as db:
        assert db.execute("SELECT count(*) FROM ack").fetchone() == (0,), "the mark went with the recovery"


def test_a_database_from_before_acknowledgements_is_still_read(tmp_path: Path, clock: Clock) -> None:
    engine = Alerting(AlertsSettings(), tmp_path, "db1", clock=clock)
    engine.observe(probe("raid", DEGRADED))
    engine.close()
    with sqlite3.connect(tmp_path / "alerts.sqlite") as db:
        db.execute("DROP TABLE ack")
    from yamori.alerts.outbox import Outbox

    old = Outbox(tmp_path / "alerts.sqlite", readonly=True)   # what `yamori alerts` opens
    assert [(a.rule, a.acknowledged_by) for a in old.load_alerts()] == [("raid.degraded", "")]
    old.close()


def test_events_are_deduplicated_within_repeat(engine: Alerting, clock: Clock, tmp_path: Path) -> None:
    ban = Finding("guard.private_source", Severity.CRITICAL, "172.22.182.49",
                  "authentication failure from a private address that is not in the inventory", "Check the LAN.")
    assert engine.observe_event("guard", ban) is True
    clock.now += 60
    assert engine.observe_event("guard", ban) is False
    other = Finding(ban.check, ban.severity, "172.22.182.50", ban.message)
    assert engine.observe_event("guard", other) is True
    clock.now += 4 * 3600
    assert engine.observe_event("guard", ban) is True
    assert engine.active() == [], "events are one-shot, not standing alerts"
    assert [n[:3] for n in notifications(tmp_path)] == [("guard.private_source", "172.22.182.49", "event"),
                                                       ("guard.private_source", "172.22.182.50", "event"),
                                                       ("guard.private_source", "172.22.182.49", "event")]


def test_observe_state_for_services(engine: Alerting, clock: Clock) -> None:
    stale = Finding("hba.stale_network", Severity.WARNING, "pg_hba.conf:12", "allows 192.168.0.0/24")
    [change] = engine.observe_state("audit", [stale])
    assert change.state is State.WARNING
    clock.now += 10
    assert engine.observe(probe("raid")) == [], "another source's run does not clear the audit's alert"
    assert [a.rule for a in engine.active()] == ["hba.stale_network"]
    [recovery] = engine.observe_state("audit", [])
    assert recovery.kind is Kind.RECOVERY


def test_sources_text_cannot_break_the_mail_subject(engine: Alerting) -> None:
    from yamori.alerts.messages import Notification, email_subject

    hostile = Finding("guard.auth", Severity.WARNING, "x\r\nBcc: victim@example.org", "line1\nSubject: fake")
    [change] = engine.observe_state("guard", [hostile])
    subject = email_subject(Notification.of("db1", change))
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("[yamori] WARNING db1 guard.auth x Bcc: victim@example.org: line1 Subject: fake")


def test_message_id_is_stable_per_notification_and_distinct_between_them(engine: Alerting) -> None:
    from dataclasses import replace

    from yamori.alerts.messages import Notification

    [change] = engine.observe(probe("raid", DEGRADED))
    note = replace(Notification.of("db1", change), id=7)
    assert note.message_id == replace(Notification.of("db1", change), id=7).message_id
    assert note.message_id != replace(note, id=8).message_id
    assert note.message_id.startswith("<") and note.message_id.endswith("@yamori.db1>")


@pytest.mark.parametrize(("flapping", "bounces_sent"), [(6, 6), (0, 20)])
def test_a_flapping_finding_is_quieted_unless_turned_off(tmp_path: Path, clock: Clock, flapping: int,
                                                         bounces_sent: int) -> None:
    engine = Alerting(AlertsSettings.model_validate({"flapping": flapping}), tmp_path, "db1", clock=clock)
    sent = 0
    for i in range(20):  # degraded, healthy, degraded, ... every 30 s
        sent += len(engine.observe(probe("raid", DEGRADED) if i % 2 == 0 else probe("raid")))
        clock.now += 30
    assert sent == bounces_sent
    # then it stays degraded: told at once without protection, after the quiet spell with it
    first = engine.observe(probe("raid", DEGRADED))
    clock.now += 900
    later = engine.observe(probe("raid", DEGRADED))
    assert [c.state for c in first + later] == [State.CRITICAL]
    assert (len(first), len(later)) == ((0, 1) if flapping else (1, 0))
    engine.close()
