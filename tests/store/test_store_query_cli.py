"""`yamori query` through click's CliRunner, with a config file pointing state_dir at tmp_path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.pgcluster import free_port

from yamori.cli import cli
from yamori.records import Sample
from yamori.store.sqlite import SqliteStore


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "yamori.toml"
    path.write_text(f'[agent]\nstate_dir = "{tmp_path / "var"}"\n')
    return path


@pytest.fixture
def recorded(tmp_path: Path, config: Path) -> float:
    """Three hours of 1-minute samples for two disks, ending now."""
    now = time.time()
    store = SqliteStore.open(tmp_path / "var")
    samples = [Sample("disk.used_percent", float(i % 50), {"mount": mount}, "percent", now - 60 * i)
               for i in range(180) for mount in ("/", "/srv")]
    store.write_samples([*samples, Sample("disk.inodes_used_percent", 3.0, {"mount": "/"}, "percent", now)])
    store.maintain(now)
    store.close()
    return now


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "query", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_has_one_entry_per_series_with_raw_points(config: Path, recorded: float) -> None:
    code, out, _ = run(config, "disk.used_percent", "--since", "1h", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["metric"] == "disk.used_percent"
    assert [s["labels"] for s in data["series"]] == [{"mount": "/"}, {"mount": "/srv"}]
    first = data["series"][0]
    assert first["unit"] == "percent" and first["step"] == 0
    assert 60 <= len(first["points"]) <= 61
    when, avg, lo, hi, last, count = first["points"][-1]
    assert when == pytest.approx(recorded) and avg == lo == hi == last == 0.0 and count == 1


def test_step_and_label_filter(config: Path, recorded: float) -> None:
    code, out, _ = run(config, "disk.used_percent", "--since", "3h", "--step", "1h", "--label", "mount=/srv", "--json")
    assert code == 0
    (series,) = json.loads(out)["series"]
    assert series["labels"] == {"mount": "/srv"} and series["step"] == 3600
    assert sum(p[5] for p in series["points"]) == 180
    # each hourly point's minimum is the minimum of the samples that fell in that hour
    for when, _avg, low, _high, _last, _count in series["points"]:
        inside = [float(i % 50) for i in range(180) if when <= recorded - 60 * i < when + 3600]
        assert low == min(inside)


def test_human_output_is_a_table_per_series(config: Path, recorded: float) -> None:
    code, out, _ = run(config, "disk.used_percent", "--since", "2h", "--step", "30m")
    assert code == 0
    assert 'disk.used_percent{mount="/"} (percent), step 30m' in out
    assert 'disk.used_percent{mount="/srv"} (percent), step 30m' in out
    assert "avg" in out and "min" in out and "max" in out


def test_unknown_metric_lists_similar_names(config: Path, recorded: float) -> None:
    code, out, err = run(config, "disk.used")
    assert code == 1 and out == ""
    assert "unknown metric 'disk.used'" in err
    assert "disk.used_percent" in err and "disk.inodes_used_percent" in err


def test_missing_store_is_a_clear_error(config: Path, tmp_path: Path) -> None:
    code, _, err = run(config, "cpu.busy_percent")
    assert code == 1
    assert f"no store at {tmp_path / 'var' / 'yamori.sqlite'}" in err
    assert not (tmp_path / "var").exists()  # a reader never creates the store


def test_bad_arguments_are_usage_errors(config: Path, recorded: float) -> None:
    for args in (["--since", "last tuesday"], ["--step", "fast"], ["--step", "0"], ["--label", "mount"]):
        code, _, err = run(config, "disk.used_percent", *args)
        assert code == 2, args
        assert "Traceback" not in err


def test_postgres_backend_problems_are_reported_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "pg.toml"
    path.write_text('[store]\nbackend = "postgres"\n')
    code, _, err = run(path, "cpu")
    assert code == 2 and f"{path}:1: store.dsn: required for the postgres backend" in err
    port = free_port()  # nothing listens there
    dsn = f"host=127.0.0.1 port={port} password=pw connect_timeout=3"
    path.write_text(f'[store]\nbackend = "postgres"\ndsn = "{dsn}"\n')
    code, _, err = run(path, "cpu")
    assert code == 1 and f"PostgreSQL 127.0.0.1:{port}: cannot connect" in err
    assert "Traceback" not in err and "pw" not in err


def test_since_accepts_iso_and_epoch_times(config: Path, recorded: float) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(recorded - 1800))
    code, out, _ = run(config, "disk.inodes_used_percent", "--since", since, "--json")
    assert code == 0 and len(json.loads(out)["series"][0]["points"]) == 1
    code, out, _ = run(config, "disk.inodes_used_percent", "--since", str(int(recorded) - 10), "--until",
                       str(int(recorded) - 5), "--json")
    assert code == 0 and json.loads(out)["series"] == []
