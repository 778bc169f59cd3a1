"""`raid status` and `raid replace` show each member disk's SMART state. smartctl is replaced
by a script that prints real `smartctl --json` outputs (the runner is the only stand-in)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner
from tests.raid.test_raid_replace import make_disk

from yamori.cli import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "smart"
# the kernel's format, as in the operator's incident (a member of each array failed on sdf)
MDSTAT = """Personalities : [raid1]
md0 : active raid1 sdf1[1](F) sde1[0]
      1060244 blocks super 1.0 [2/1] [U_]

md1 : active raid1 sdf3[1](F) sde3[0]
      942138801 blocks super 1.1 [2/1] [U_]

unused devices: <none>
"""


def _setup(tmp_path: Path, answers: dict[str, str]) -> Path:
    sys_root, dev_root = tmp_path / "sys", tmp_path / "dev"
    for name, parts in (("sde", 3), ("sdf", 3), ("sdg", 0)):
        make_disk(sys_root, dev_root, name, parts)
        (dev_root / name).touch()
    (tmp_path / "mdstat").write_text(MDSTAT)
    script = tmp_path / "smartctl"
    mapping = {name: str(FIXTURES / file) for name, file in answers.items()}
    script.write_text(f"#!{sys.executable}\nimport sys\nmapping = {mapping!r}\n"
                      "name = sys.argv[-1].rsplit('/', 1)[-1]\n"
                      "sys.stdout.write(open(mapping[name]).read())\n")
    script.chmod(0o755)
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nsys = "{sys_root}"\ndev = "{dev_root}"\nproc = "{tmp_path}"\n'
                      f'[environment.smart]\nsmartctl = "{script}"\n')
    return config


def test_raid_status_shows_each_members_smart(tmp_path: Path) -> None:
    config = _setup(tmp_path, {"sde": "WDC_WD20EFRX-68EUZN0_17.json", "sdf": "ST3500418AS_12.json"})
    result = CliRunner().invoke(cli, ["--config", str(config), "raid", "status", "--json"])
    assert result.exit_code == 2, result.output
    smart = json.loads(result.output)["smart"]
    assert set(smart) == {"sde", "sdf"}
    assert smart["sde"]["passed"] is True and smart["sde"]["findings"] == []
    assert smart["sdf"]["reallocated"] == 304
    assert smart["sdf"]["model"] == "ST3500418AS"
    table = CliRunner().invoke(cli, ["--config", str(config), "raid", "status"])
    assert "SMART /dev/sde: PASSED, 0 reallocated" in table.output
    assert "SMART /dev/sdf: PASSED, 304 reallocated" in table.output


def test_raid_replace_plan_warns_when_the_survivor_is_failing(tmp_path: Path) -> None:
    config = _setup(tmp_path, {"sde": "nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json",
                               "sdf": "ST3500418AS_12.json", "sdg": "WDC_WD20EFRX-68EUZN0_17.json"})
    args = ["--config", str(config), "raid", "replace", "md1", "--failed", "sdf", "--new", "sdg"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "SMART of /dev/sde: FAILED" in result.output
    assert "warning: the surviving disk /dev/sde has SMART problems" in result.output
    data = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    assert data["smart"]["sde"]["findings"][0]["check"] == "smart.failing"
    assert data["smart"]["sdg"]["passed"] is True
    assert data["steps"]  # the plan itself is unchanged


def test_no_smartctl_no_field(tmp_path: Path) -> None:
    config = _setup(tmp_path, {})
    config.write_text(config.read_text().replace("[environment.smart]\n", "[environment.smart]\nenabled = false\n"))
    data = json.loads(CliRunner().invoke(cli, ["--config", str(config), "raid", "status", "--json"]).output)
    assert data["smart"] is None
