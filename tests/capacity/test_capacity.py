"""`yamori capacity`: budgets, which runs out first, what if; errors located, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from yamori.capacity.budget import how_many_more, report
from yamori.cli import cli
from yamori.config.capacity import EquipmentEntry, RoomEntry

ROOM = """
[[capacity.rooms]]
name = "rack12"
power_kva = 6.0
power_factor = 0.9
cooling_kw = 5.0
rack_units = 42
floor_area_m2 = 0.72
floor_load_kg_m2 = 1200
fixed_kg = 150

[[capacity.rooms.equipment]]
model = "R650"
count = 8
watts = 450
units = 1
kg = 18

[[capacity.rooms.equipment]]
model = "storage-2U"
count = 2
watts = 600
units = 2
kg = 30

[[capacity.rooms]]
name = "cage"
power_w = 20000
rack_units = 84

[[capacity.models]]
model = "GPU-4U"
watts = 2000
units = 4
kg = 45
"""


def _run(tmp_path: Path, *args: str, text: str = ROOM):  # type: ignore[no-untyped-def]
    path = tmp_path / "capacity.toml"
    path.write_text(text)
    return CliRunner().invoke(cli, ["capacity", str(path), *args])


def test_budgets_and_first_to_run_out(tmp_path: Path) -> None:
    result = _run(tmp_path, "--json", "--room", "rack12")
    assert result.exit_code == 1, result.output  # cooling at 96 %
    (room,) = json.loads(result.output)["rooms"]
    budgets = {b["budget"]: b for b in room["budgets"]}
    # 6 kVA at PF 0.9 = 5400 W; 8 × 450 + 2 × 600 = 4800 W
    assert budgets["power"] == {"budget": "power", "unit": "W", "capacity": 5400.0, "used": 4800.0, "left": 600.0,
                                "percent": 88.9}
    assert budgets["cooling"]["used"] == 4.8 and budgets["cooling"]["percent"] == 96.0
    assert budgets["rack_units"]["used"] == 12.0
    # floor: 0.72 m² × 1200 kg/m² = 864 kg; 8 × 18 + 2 × 30 + 150 fixed = 354 kg
    assert (budgets["floor_load"]["capacity"], budgets["floor_load"]["used"]) == (864.0, 354.0)
    assert room["runs_out_first"] == "cooling"


def test_what_if_add(tmp_path: Path) -> None:
    result = _run(tmp_path, "--json", "--room", "cage", "--add", "GPU-4U:9", "--add", "R650:2")
    assert result.exit_code == 1, result.output  # power at 94.5 %
    (room,) = json.loads(result.output)["rooms"]
    assert room["added"] == [{"model": "GPU-4U", "count": 9}, {"model": "R650", "count": 2}]
    budgets = {b["budget"]: b for b in room["budgets"]}
    assert budgets["power"]["used"] == 9 * 2000 + 2 * 450
    fits = {f["model"]: f for f in room["fits"]}
    assert fits["GPU-4U"] == {"model": "GPU-4U", "more": 0, "limited_by": "power"}
    assert fits["R650"] == {"model": "R650", "more": 2, "limited_by": "power"}  # 1100 W left

    over = _run(tmp_path, "--room", "cage", "--add", "GPU-4U:11")
    assert over.exit_code == 2
    assert "CRITICAL" in over.output and "first to run out" in over.output


def test_how_many_more_takes_the_tightest_budget() -> None:
    room = RoomEntry(name="r", power_w=1000, rack_units=10,
                     equipment=[EquipmentEntry(model="a", count=2, watts=100, units=4)])
    rep = report(room)
    assert how_many_more(rep.budgets, EquipmentEntry(model="a", watts=100, units=4)).as_json() == {
        "model": "a", "more": 0, "limited_by": "rack_units"}
    assert how_many_more(rep.budgets, EquipmentEntry(model="tiny", watts=50, units=0.5)).more == 4
    assert how_many_more(rep.budgets, EquipmentEntry(model="cable")).more is None


@pytest.mark.parametrize(("args", "words"), [
    (["--add", "R650:2"], "--add needs --room NAME"),
    (["--room", "rack12", "--add", "Z9:1"], "unknown model 'Z9' (known: GPU-4U, R650, storage-2U)"),
    (["--room", "rack12", "--add", "R650"], "expected MODEL:N"),
    (["--room", "nowhere"], "no room named 'nowhere'"),
])
def test_usage_errors(tmp_path: Path, args: list[str], words: str) -> None:
    result = _run(tmp_path, *args)
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_config_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = ROOM.replace("power_factor = 0.9", "power_factor = 1.5")
    bad = bad.replace("power_w = 20000", "power_w = 2\npower_kva = 3")
    result = _run(tmp_path, text=bad)
    assert result.exit_code == 2
    assert f"{tmp_path / 'capacity.toml'}:5: capacity.rooms[0].power_factor" in result.output
    assert "give power_w or power_kva, not both" in result.output


def test_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path / "var"}"\n' + ROOM)
    result = CliRunner().invoke(cli, ["--config", str(config), "capacity", "--room", "rack12"])
    assert result.exit_code == 1
    assert "cooling ← first to run out" in result.output
    assert "0 more R650 fit (cooling runs out first)" in result.output


def test_database_memory_from_the_store(tmp_path: Path) -> None:
    """Incident 10: the stored database sizes and hit ratio against the host's RAM."""
    from yamori.config import load_config
    from yamori.records import Sample
    from yamori.store import open_store

    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path / "var"}"\n')
    store = open_store(load_config(config))
    gib = 2.0**30
    store.write_samples([
        Sample("memory_total_bytes", 6 * gib, {}, "bytes", 1000.0),
        Sample("postgres.database_size", 7 * gib, {"server": "db1", "database": "app"}, "bytes", 1000.0),
        Sample("postgres.database_size", 1 * gib, {"server": "db1", "database": "postgres"}, "bytes", 1000.0),
        Sample("postgres.cache_hit_ratio", 0.91, {"server": "db1"}, "ratio", 1000.0),
        Sample("postgres.database_size", 2 * gib, {"server": "db2", "database": "app"}, "bytes", 1000.0),
    ])
    store.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "capacity", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["rooms"] == []
    memory = {m["server"]: m for m in data["database_memory"]}
    assert memory["db1"]["state"] == "WARNING" and memory["db1"]["ratio"] == 1.333
    assert "databases 8.0 GiB against 6.0 GiB of RAM, cache hit ratio 91.0%: the working set no longer fits" in \
        memory["db1"]["verdict"]
    assert memory["db2"]["state"] == "OK" and "all of it fits in memory" in memory["db2"]["verdict"]
    human = CliRunner().invoke(cli, ["--config", str(config), "capacity"])
    assert "WARNING database memory db1:" in human.output


def test_no_store_yet_is_not_an_error(tmp_path: Path) -> None:
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path / "var"}"\n' + ROOM)
    result = CliRunner().invoke(cli, ["--config", str(config), "capacity", "--json", "--room", "cage"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["database_memory"] is None
