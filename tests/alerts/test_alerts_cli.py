"""`yamori alerts` and `yamori notify test` through click's CliRunner, against a real
alert database and a real SMTP server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from alerts_endpoints import SmtpServer
from click.testing import CliRunner

from yamori.alerts.engine import Alerting
from yamori.cli import cli
from yamori.config import load_config
from yamori.probe import ProbeResult
from yamori.records import Finding, Severity, State

DEGRADED = Finding("raid.degraded", Severity.CRITICAL, "md1", "array md1 is degraded: 1 of 2 members active",
                   "sdf3 is marked failed. Find its serial number: `smartctl -i /dev/sdf`")


def write_config(tmp_path: Path, *, port: int | None = None, webhook: str | None = None) -> Path:
    lines = ["[agent]", f'state_dir = "{tmp_path / "var"}"']
    if port is not None:
        lines += ["[alerts.email]", 'host = "127.0.0.1"', f"port = {port}", 'to = ["ops@example.org"]']
    if webhook is not None:
        lines += ["[alerts.webhook]", f'url = "{webhook}"']
    path = tmp_path / "yamori.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_alerts_without_history_or_notifier_warns(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts"])
    assert result.exit_code == 0
    assert "No alert history yet" in result.output
    assert "no notifier is configured: alerts will not reach anyone" in result.output


def test_alerts_json_while_the_agent_holds_the_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, port=9)
    settings = load_config(config)
    engine = Alerting(settings.alerts, settings.agent.state_dir, "db1")  # stays open, like a running agent
    engine.observe(ProbeResult("raid", State.CRITICAL, "", [], [DEGRADED]))
    engine.acknowledge("raid.degraded", "md1", "operator")
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts", "--json"])
    text = CliRunner().invoke(cli, ["--config", str(config), "alerts"]).output
    engine.close()
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    [alert] = data["alerts"]
    assert set(alert) == {"rule", "subject", "state", "since", "message", "advice", "acknowledged_by",
                          "acknowledged_at"}
    assert alert["acknowledged_by"] == "operator" and "[acknowledged by operator]" in text
    assert (alert["rule"], alert["subject"], alert["state"]) == ("raid.degraded", "md1", "CRITICAL")
    assert "smartctl -i /dev/sdf" in alert["advice"]
    assert data["delivery"]["configured"] is True and data["delivery"]["pending"] == 1


def test_alerts_text_names_a_failing_notifier(tmp_path: Path) -> None:
    config = write_config(tmp_path, port=9)
    settings = load_config(config)
    now = [1_700_000_000.0]
    engine = Alerting(settings.alerts, settings.agent.state_dir, "db1", clock=lambda: now[0])
    engine.observe(ProbeResult("raid", State.CRITICAL, "", [], [DEGRADED]))
    for _ in range(3):  # port 9 on 127.0.0.1: nothing listens, every attempt is refused
        asyncio.run(engine.deliver_pending())
        now[0] += 3600
    engine.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts"])
    assert result.exit_code == 2
    assert "CRITICAL raid.degraded md1" in result.output
    assert "WARNING  notify.failing email" in result.output
    assert "FAILING (3 attempts)" in result.output and "1 notification(s) waiting" in result.output


async def test_notify_test_reports_each_notifier(smtp: SmtpServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, port=smtp.port, webhook="http://127.0.0.1:9/hook")
    runner = CliRunner()
    # CliRunner runs asyncio.run() itself: off the test's loop, which keeps serving SMTP meanwhile
    result = await asyncio.to_thread(runner.invoke, cli, ["--config", str(config), "notify", "test"])
    assert result.exit_code == 1, result.output
    assert "OK      email to ops@example.org" in result.output
    assert "FAILED  webhook http://127.0.0.1:9/…" in result.output and "/hook" not in result.output  # redacted
    [mail] = smtp.inbox.messages
    assert "test message" in mail["Subject"]


async def test_notify_test_all_ok_and_none_configured(smtp: SmtpServer, tmp_path: Path) -> None:
    ok = await asyncio.to_thread(CliRunner().invoke, cli,
                                 ["--config", str(write_config(tmp_path, port=smtp.port)), "notify", "test", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.output)["notifiers"][0]["ok"] is True
    none = await asyncio.to_thread(CliRunner().invoke, cli,
                                   ["--config", str(write_config(tmp_path)), "notify", "test"])
    assert none.exit_code == 2 and "no notifier is configured" in none.output


def test_a_corrupt_alert_database_is_named_not_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "alerts.sqlite").write_bytes(b"this is not sqlite\n" * 100)
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts"])
    assert result.exit_code == 3
    assert "alerts.sqlite: cannot open the alert database" in result.output
    assert "Traceback" not in result.output
