"""`yamori audit` through click's CliRunner: output shapes and exit codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from yamori.audit.probe import AuditProbe, probes
from yamori.cli import cli
from yamori.config import Settings, load_config
from yamori.probe import run_probe
from yamori.records import State

CONFIG = """\
[[inventory.networks]]
name = "app"
cidr = "10.20.0.0/16"

[[inventory.hosts]]
name = "web1"
addresses = ["192.168.0.1"]

[audit]
interval = "30m"
"""

HBA = "local all postgres peer\nhost all all 10.20.0.0/16 scram-sha-256\nhost all all 192.168.0.0/24 scram-sha-256\n"


def _run(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    config = tmp_path / "yamori.toml"
    config.write_text(CONFIG)
    return CliRunner().invoke(cli, ["--config", str(config), "audit", *args], catch_exceptions=False)


def test_json_shape_is_exactly_the_contract(tmp_path: Path, incidents: Path) -> None:
    (tmp_path / "pg_hba.conf").write_text(HBA)
    keepalived = str(incidents / "keepalived-vrrp-ipvs-dr-same-host.conf")
    result = _run(tmp_path, "--json", str(tmp_path / "pg_hba.conf"), keepalived)
    data = json.loads(result.output)
    assert list(data) == ["findings"]
    for item in data["findings"]:
        assert list(item) == ["check", "severity", "file", "line", "subject", "message", "advice"]
        assert item["severity"] in ("info", "warning", "critical")
        assert isinstance(item["line"], int | None) and isinstance(item["file"], str | None)
    got = {(f["check"], Path(f["file"]).name, f["line"]) for f in data["findings"]}
    assert ("hba.undeclared_network", "pg_hba.conf", 3) in got
    assert ("keepalived.dr_director_is_real_server", "keepalived-vrrp-ipvs-dr-same-host.conf", 26) in got
    assert result.exit_code == 1


def test_exit_codes_follow_the_worst_shown_finding(tmp_path: Path, incidents: Path) -> None:
    keepalived = str(incidents / "keepalived-vrrp-ipvs-dr-same-host.conf")
    assert _run(tmp_path, "--host", "web1", keepalived).exit_code == 2
    assert _run(tmp_path, keepalived).exit_code == 1
    assert _run(tmp_path, "--min-severity", "critical", keepalived).exit_code == 0
    (tmp_path / "pg_hba.conf").write_text("local all all peer\nhost all all 10.20.1.0/24 scram-sha-256\n")
    clean = _run(tmp_path, str(tmp_path / "pg_hba.conf"))
    assert clean.exit_code == 0 and "no findings" in clean.output


def test_text_output_says_what_where_and_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "pg_hba.conf").write_text(HBA)
    out = _run(tmp_path, str(tmp_path / "pg_hba.conf")).output
    assert f"{tmp_path}/pg_hba.conf:3" in out and "WARNING" in out and "fix: " in out
    assert "1 warning" in out


def test_sarif_output(tmp_path: Path, incidents: Path) -> None:
    result = _run(tmp_path, "--sarif", "--host", "web1", str(incidents / "keepalived-vrrp-ipvs-dr-same-host.conf"))
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    dr = [r for r in results if r["ruleId"] == "keepalived.dr_director_is_real_server"]
    assert dr[0]["level"] == "error"
    assert dr[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 29
    assert result.exit_code == 2


def test_usage_errors_and_unknown_input(tmp_path: Path) -> None:
    bad_host = _run(tmp_path, "--host", "nosuch", str(tmp_path))
    assert bad_host.exit_code == 2 and "nosuch" in bad_host.output
    assert _run(tmp_path, "--json", "--sarif").exit_code == 2
    (tmp_path / "notes.txt").write_text("hello world\n")
    unknown = json.loads(_run(tmp_path, "--json", str(tmp_path / "notes.txt"), str(tmp_path / "absent")).output)
    assert [f["check"] for f in unknown["findings"]] == ["audit.unknown_input", "audit.unknown_input"]


def test_kind_is_recognised_from_content(tmp_path: Path, incidents: Path) -> None:
    (tmp_path / "a").write_text(HBA)
    (tmp_path / "b").write_text((incidents / "keepalived-vrrp-ipvs-dr-same-host.conf").read_text())
    (tmp_path / "c").write_text("listen_addresses = '*'\nssl = on\nlog_connections = on\n")
    data = json.loads(_run(tmp_path, "--json", str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c")).output)
    kinds = {(f["check"].split(".")[0], Path(f["file"]).name) for f in data["findings"]}
    assert {("hba", "a"), ("keepalived", "b"), ("pgconf", "c")} <= kinds


def test_help() -> None:
    result = CliRunner().invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0 and "--min-severity" in result.output and "Exit status" in result.output


def test_probe_reports_the_same_findings_with_stable_subjects(tmp_path: Path, incidents: Path) -> None:
    (tmp_path / "pg_hba.conf").write_text(HBA)
    config = tmp_path / "yamori.toml"
    keepalived = incidents / "keepalived-vrrp-ipvs-dr-same-host.conf"
    config.write_text(CONFIG + f'paths = ["{tmp_path / "pg_hba.conf"}", "{keepalived}"]\n')
    settings = load_config(config)
    [probe] = probes(settings)
    assert isinstance(probe, AuditProbe) and probe.name == "audit" and probe.interval == 1800
    first = asyncio.run(run_probe(probe))
    second = asyncio.run(run_probe(probe))
    assert first.state is State.WARNING
    keys = [(f.check, f.subject) for f in first.findings]
    assert keys == [(f.check, f.subject) for f in second.findings] and len(keys) >= 3
    assert probes(Settings.model_validate({"audit": {"enabled": False}})) == []
