"""`yamori raid status` through click's CliRunner: JSON shape, table, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from yamori.cli import cli

ARRAY_KEYS = {"name", "level", "state", "raid_disks", "active_disks", "health_percent", "degraded", "members",
              "failed", "spares", "sync"}


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_shape_failed(incidents: Path) -> None:
    result = run("raid", "status", "--mdstat", str(incidents / "mdstat-1-member-failed.txt"), "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [a["name"] for a in data["arrays"]] == ["md0", "md1"]
    md1 = data["arrays"][1]
    assert set(md1) >= ARRAY_KEYS
    assert {k: md1[k] for k in ARRAY_KEYS} == {
        "name": "md1", "level": "raid1", "state": "active", "raid_disks": 2, "active_disks": 1,
        "health_percent": 50.0, "degraded": True,
        "members": [{"device": "sdf3", "slot": 1, "flags": ["F"]}, {"device": "sde3", "slot": 0, "flags": []}],
        "failed": ["sdf3"], "spares": [], "sync": None,
    }


def test_json_recovering_sync(incidents: Path) -> None:
    result = run("raid", "status", "--mdstat", str(incidents / "mdstat-3-recovering.txt"), "--json")
    sync = json.loads(result.stdout)["arrays"][1]["sync"]
    assert {k: sync[k] for k in ("action", "percent", "speed_kib_s", "eta_seconds")} == {
        "action": "recovery", "percent": 0.3, "speed_kib_s": 71696, "eta_seconds": 13092}
    assert result.exit_code == 2  # still degraded until the rebuild ends


def test_healthy_exit_zero_and_table(incidents: Path) -> None:
    result = run("raid", "status", "--mdstat", str(incidents / "mdstat-0-healthy.txt"))
    assert result.exit_code == 0
    assert "md1" in result.stdout and "[2/2] [UU]" in result.stdout and "100%" in result.stdout


def test_table_names_failed_member_and_next_step(incidents: Path) -> None:
    result = run("raid", "status", "--mdstat", str(incidents / "mdstat-1-member-failed.txt"))
    assert result.exit_code == 2
    text = " ".join(result.stdout.split())
    assert "sdf3(F)" in text and "CRITICAL" in text and "smartctl -i /dev/sdf" in text


def test_warning_exit_one(corpora: Path) -> None:
    result = run("raid", "status", "--mdstat", str(corpora / "mdstat" / "check_raid" / "issue164"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["arrays"][0]["failed"] == ["sdh1"]


def test_malformed_file_names_file_and_line(corpora: Path) -> None:
    path = corpora / "mdstat" / "telegraf" / "mdStatFileInvalid"
    result = run("raid", "status", "--mdstat", str(path), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}:3:" in result.stderr and "Traceback" not in result.stderr


def test_default_reads_agent_proc(tmp_path: Path, incidents: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "mdstat").write_bytes((incidents / "mdstat-2-member-removed.txt").read_bytes())
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nproc = "{tmp_path / "proc"}"\n')
    result = run("--config", str(config), "raid", "status", "--json")
    assert result.exit_code == 2
    assert [a["health_percent"] for a in json.loads(result.stdout)["arrays"]] == [50.0, 50.0]


def test_missing_file_is_unknown(tmp_path: Path) -> None:
    result = run("raid", "status", "--mdstat", str(tmp_path / "absent"))
    assert result.exit_code == 3 and "no such file" in result.stderr


def test_help() -> None:
    assert run("raid", "--help").exit_code == 0
    assert "--mdstat" in run("raid", "status", "--help").stdout
