"""`yamori check`: Nagios exit codes and the finding shape every capability reports through."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from yamori.cli import cli


def _config(tmp_path: Path, mdstat: Path, notifier: bool = True) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir(exist_ok=True)
    (tmp_path / "sys").mkdir(exist_ok=True)
    shutil.copyfile(mdstat, proc / "mdstat")
    config = tmp_path / "yamori.toml"
    email = '[alerts.email]\nto = ["ops@example.org"]\n' if notifier else ""
    config.write_text(f'[agent]\nproc = "{proc}"\nsys = "{tmp_path / "sys"}"\nstate_dir = "{tmp_path / "var"}"\n'
                      f"[audit]\nenabled = false\n[guard]\nenabled = false\n{email}")
    return config


def test_failed_member_is_critical_with_exit_2(tmp_path: Path, incidents: Path) -> None:
    config = _config(tmp_path, incidents / "mdstat-1-member-failed.txt")
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--json", "--only", "raid"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    assert data["state"] == "CRITICAL"
    assert data["probes"] == [{"name": "raid", "state": "CRITICAL", "reason": data["probes"][0]["reason"]}]
    critical = [f for f in data["findings"] if f["severity"] == "critical"]
    assert {f["probe"] for f in critical} == {"raid"}
    assert {"md0", "md1"} <= {f["subject"] for f in critical}
    for finding in data["findings"]:
        assert set(finding) >= {"probe", "severity", "subject", "message", "advice"}
        assert finding["severity"] in ("info", "warning", "critical")


def test_healthy_array_exit_0(tmp_path: Path, incidents: Path) -> None:
    config = _config(tmp_path, incidents / "mdstat-0-healthy.txt")
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--json", "--only", "raid"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["state"] == "OK"


def test_no_notifier_is_said_prominently(tmp_path: Path, incidents: Path) -> None:
    config = _config(tmp_path, incidents / "mdstat-0-healthy.txt", notifier=False)
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--json"])
    data = json.loads(result.output)
    unconfigured = [f for f in data["findings"] if f["check"] == "notify.unconfigured"]
    assert unconfigured and unconfigured[0]["severity"] == "warning"
    assert result.exit_code >= 1
    human = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert "no notifier is configured" in human.output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    from yamori.cli import COMMANDS, LazyGroup

    listed = LazyGroup().list_commands(None)  # type: ignore[arg-type]
    assert {"run", "check", "config", "raid", "query", "alerts", "notify"} <= set(listed)
    for name in listed:
        assert name in COMMANDS
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        for sub in getattr(command, "commands", {}):
            result = runner.invoke(cli, [name, sub, "--help"])
            assert result.exit_code == 0, (name, sub, result.output)


def test_only_a_probe_that_does_not_exist_is_unknown_not_ok(tmp_path: Path) -> None:
    """A typo in --only must not read as "all fine" to a cron job or Nagios."""
    result = CliRunner().invoke(cli, ["check", "--only", "raidd"])
    assert result.exit_code == 3
    assert "no probe named raidd" in result.output


def test_every_catalog_entry_loads() -> None:
    """A misspelt factory in the catalog is an error, never a silently disabled probe."""
    from yamori import catalog

    for entry in (*catalog.PROBE_FACTORIES, *catalog.SERVICE_FACTORIES):
        assert callable(catalog._load(entry))
    with pytest.raises(catalog.CatalogError, match=r"no module yamori\.sytem\.probe"):
        catalog._load("yamori.sytem.probe:probes")
