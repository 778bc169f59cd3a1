"""The guard service as the agent runs it: alerts, would-ban reports, restarts, digest, samples."""

from __future__ import annotations

from pathlib import Path

from yamori.config import Settings
from yamori.guard.service import GuardService, services
from yamori.records import Finding, Sample, Severity

NOW = 1_795_600_800.0    # 2026-11-25 10:00:00 UTC


class ListSink:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.sampled: list[Sample] = []
        self.reports: list[tuple[str, str, str]] = []

    def samples(self, service: str, samples: list[Sample]) -> None:
        self.sampled += samples

    def event(self, service: str, finding: Finding) -> None:
        self.findings.append(finding)

    def report(self, service: str, check: str, subject: str, text: str) -> None:
        self.reports.append((check, subject, text))

    def state(self, service: str, findings: list[Finding]) -> None:
        pass


def lines(pid: int, host: str, user: str = "postgres", stamp: str = "2026-11-25 09:59:00.000 UTC") -> str:
    return (f"{stamp} [{pid}] [unknown]@[unknown] LOG:  connection received: host={host} port=5000\n"
            f"{stamp} [{pid}] {user}@postgres FATAL:  password authentication failed for user \"{user}\"\n"
            f"{stamp} [{pid}] {user}@postgres DETAIL:  Role \"{user}\" does not exist.\n")


def settings(tmp: Path, **guard: object) -> Settings:
    return Settings.model_validate({
        "agent": {"state_dir": str(tmp / "state")},
        "inventory": {"networks": [{"name": "monitoring", "cidr": "172.22.183.0/24", "role": "monitoring"}]},
        "guard": {"logs": [str(tmp / "postgresql-*.log")], "max_failures": 2, **guard}})


def test_services_need_a_log_file(tmp_path: Path) -> None:
    assert services(settings(tmp_path)) == []
    (tmp_path / "postgresql-Mon.log").write_text("")
    assert [s.name for s in services(settings(tmp_path))] == ["guard"]
    assert services(settings(tmp_path, enabled=False)) == []


def test_incident_alert_would_ban_restart_and_digest(tmp_path: Path) -> None:
    log = tmp_path / "postgresql-Wed.log"
    log.write_text(lines(10, "172.22.182.49") + lines(11, "203.0.113.9") + lines(12, "203.0.113.9")
                   + lines(13, "172.22.183.5"))
    clock = [NOW]
    service = GuardService(settings(tmp_path), clock=lambda: clock[0])
    sink = ListSink()
    service.start(sink)
    events = service.poll_once(sink)
    assert [e.source for e in events] == ["172.22.182.49", "203.0.113.9", "203.0.113.9", "172.22.183.5"]
    checks = [(f.check, f.severity, f.subject) for f in sink.findings]
    assert checks == [("guard.private_source", Severity.CRITICAL, "172.22.182.49"),
                      ("guard.would_ban", Severity.INFO, "203.0.113.9"),
                      ("guard.new_operator_source", Severity.WARNING, "172.22.183.5")]
    assert "banning is off" in sink.findings[1].message
    # a restart resumes after what was read: nothing twice, nothing lost
    with open(log, "a") as f:
        f.write(lines(14, "198.51.100.3"))
    again = GuardService(settings(tmp_path), clock=lambda: clock[0])
    assert [e.source for e in again.poll_once(ListSink())] == ["198.51.100.3"]
    assert again.poll_once(ListSink()) == []
    # samples, and the digest once the day is over
    assert any(s.metric == "guard_auth_failures_total" and s.value == 4 for s in service.samples())
    clock[0] += 86400
    service.maybe_digest(sink)
    check, subject, text = sink.reports[-1]
    assert check == "guard.digest" and subject == "2026-11-25"
    assert "203.0.113.9 (2)" in text and "172.22.183.5" in text


def test_records_older_than_the_backlog_are_skipped_on_first_start(tmp_path: Path) -> None:
    (tmp_path / "postgresql-Tue.log").write_text(lines(20, "203.0.113.1", stamp="2026-11-20 10:00:00.000 UTC")
                                                 + lines(21, "203.0.113.2"))
    service = GuardService(settings(tmp_path), clock=lambda: NOW)
    sink = ListSink()
    service.poll_once(sink)
    assert service.counts["password_failed"] == 1


def test_one_failure_in_two_formats_either_side_of_a_second_is_counted_once(tmp_path: Path) -> None:
    """PostgreSQL stamps `%t` with its own clock reading, apart from the one jsonlog (and csvlog,
    `%m`) use: a failure at 09:59:19.9995 is 09:59:19 in the .log and 09:59:20.000 in the .json
    (seen with a real server in tests/guard/test_guard_integrity_pg.py, under load)."""
    import json

    (tmp_path / "postgresql-Wed.log").write_text(
        "2026-11-25 09:59:19 UTC [10] [unknown]@[unknown] LOG:  connection received: host=203.0.113.9 port=5000\n"
        '2026-11-25 09:59:19 UTC [10] eve@postgres FATAL:  password authentication failed for user "eve"\n'
        "2026-11-25 09:59:21 UTC [11] [unknown]@[unknown] LOG:  connection received: host=203.0.113.9 port=5001\n"
        '2026-11-25 09:59:21 UTC [11] eve@postgres FATAL:  password authentication failed for user "eve"\n')
    records = [{"timestamp": stamp, "pid": pid, "remote_host": "203.0.113.9", "error_severity": sev, "message": msg,
                **({"user": "eve", "dbname": "postgres"} if sev == "FATAL" else {})}
               for stamp, pid, sev, msg in [
                   ("2026-11-25 09:59:19.999 UTC", 10, "LOG", "connection received: host=203.0.113.9 port=5000"),
                   ("2026-11-25 09:59:20.000 UTC", 10, "FATAL", 'password authentication failed for user "eve"'),
                   ("2026-11-25 09:59:21.000 UTC", 11, "LOG", "connection received: host=203.0.113.9 port=5001"),
                   ("2026-11-25 09:59:21.001 UTC", 11, "FATAL", 'password authentication failed for user "eve"')]]
    (tmp_path / "postgresql-Wed.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    service = GuardService(settings(tmp_path, logs=[str(tmp_path / "postgresql-*")], log_line_prefix="%t [%p] %q%u@%d ",
                                    max_failures=99), clock=lambda: NOW)
    events = service.poll_once(ListSink()) + service.poll_once(ListSink())
    assert [(e.time or "")[:19] for e in events] == ["2026-11-25T09:59:19", "2026-11-25T09:59:21"], events
