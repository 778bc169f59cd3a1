"""`yamori import munin` over RRD files made by the real rrdtool the way munin-update lays
them out (a year of 5-minute updates; AVERAGE/MIN/MAX, plus LAST in one file), read back
with `yamori query` and compared with `rrdtool fetch` at each of Munin's resolutions."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.support.munin_rrd import create, file_name

from yamori.cli import cli
from yamori.munin.history import parse_datafile_hosts, parse_rrd_name
from yamori.munin.rrd import parse_fetch
from yamori.store.sqlite import SqliteStore

LOAD = ("localhost.localdomain", "load", "load", "GAUGE")
TRAFFIC = ("web-01.localdomain", "if_eth0", "down", "DERIVE")      # a host name with a dash
LATENCY = ("localhost.localdomain", "diskstats_latency.sda", "avgrdwait", "GAUGE")  # a multigraph


@pytest.fixture(scope="module")
def datadir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    assert shutil.which("rrdtool"), "rrdtool missing: scripts/system-deps.sh installs it"
    root = tmp_path_factory.mktemp("munin") / "lib"
    end = int(time.time()) // 300 * 300 - 300
    group = root / "localdomain"
    create(group / file_name(*LOAD[:3]), end, gap=(50000, 40))
    create(group / file_name(*TRAFFIC), end, kind="DERIVE", last=False, seed=3)
    create(group / file_name(*LATENCY), end, days=20, last=False, seed=5)
    (group / "not-munin.txt.rrd").write_text("")
    (root / "datafile").write_text("version 2.0.73\nlocaldomain;web-01.localdomain:if_eth0.graph_title eth0\n"
                                   "localdomain;localhost.localdomain:load.graph_title Load average\n")
    yield root, end


def cli_run(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["-c", str(config), *args], catch_exceptions=False)
    return result


def rrd_fetch(path: Path, cf: str, res: int, start: int, end: int) -> dict[int, float]:
    out = subprocess.run(["rrdtool", "fetch", str(path), cf, "-r", str(res), "-s", str(start), "-e", str(end)],
                         capture_output=True, text=True, check=True).stdout
    step, rows = parse_fetch(out)
    assert step == res, (cf, res, step)
    return {t: v for t, v in rows if start < t <= end and not math.isnan(v)}


def query(config: Path, metric: str, step: int, start: int, end: int, **labels: str) -> dict[int, list[float]]:
    args = ["query", metric, "--step", f"{step}s", "--since", str(start), "--until", str(end), "--json"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    result = cli_run(config, *args)
    assert result.exit_code == 0, result.output
    series = json.loads(result.stdout)["series"]
    assert len(series) == 1
    return {int(p[0]): p[1:] for p in series[0]["points"]}


def test_file_names_map_to_the_plugin_metrics() -> None:
    name = parse_rrd_name("localdomain", "web-01.localdomain-if_eth0-down-d.rrd", {"web-01.localdomain"})
    assert name is not None and (name.host, name.service, name.field, name.type, name.metric) == (
        "web-01.localdomain", "if_eth0", "down", "DERIVE", "munin_if_eth0_down")
    multi = parse_rrd_name("g", "db1-diskstats_latency-sda-avgrdwait-g.rrd")
    assert multi is not None and (multi.host, multi.service, multi.metric) == (
        "db1", "diskstats_latency.sda", "munin_diskstats_latency_sda_avgrdwait")
    assert parse_rrd_name("g", "db1-cpu-user-x.rrd") is None and parse_rrd_name("g", "junk.rrd") is None
    hosts = parse_datafile_hosts("version 2.0.73\nexample.org;web-01.example.org:load.graph_title Load\n"
                                 "dc1;rack2;db-2:cpu.graph_title CPU\nnonsense line\n")
    assert hosts == {"example.org": {"web-01.example.org"}, "dc1/rack2": {"db-2"}}


def test_import_equals_rrdtool_fetch_at_every_resolution(datadir: tuple[Path, int], tmp_path: Path) -> None:
    root, end = datadir
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path}/state"\n')
    dry = cli_run(config, "import", "munin", "--datadir", str(root), "--dry-run", "--json")
    assert dry.exit_code == 1 and not (tmp_path / "state" / "yamori.sqlite").exists()  # 1: the odd file
    started = time.monotonic()
    result = cli_run(config, "import", "munin", "--datadir", str(root), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["files"] == 3 and len(report["problems"]) == 1 and "not-munin.txt.rrd" in report["problems"][0]
    summary = {(r["host"], r["plugin"]): r for r in report["imported"]}
    assert set(summary) == {LOAD[:2], TRAFFIC[:2], LATENCY[:2]}
    assert summary[LOAD[:2]]["rows"]["5m"] > 576 and summary[LOAD[:2]]["rows"]["1d"] >= 360
    assert time.monotonic() - started < 30

    load_rrd = root / "localdomain" / file_name(*LOAD[:3])
    # (resolution, rows the archive keeps): the 5m tier answers 300 and 1800, 1h 7200, 1d 86400
    for res, rows in ((300, 576), (1800, 432), (7200, 540), (86400, 450)):
        span_end = end // res * res
        span_start = max(span_end - (rows - 1) * res, end - 365 * 86400)
        if res == 300:  # the 5m archive is cut on a whole 30-minute bucket where the 30m one takes over
            span_start = math.ceil(span_start / 1800) * 1800
        expected = {cf: rrd_fetch(load_rrd, cf, res, span_start, span_end) for cf in ("AVERAGE", "MIN", "MAX", "LAST")}
        got = query(tmp_path / "yamori.toml", "munin_load_load", res, span_start, span_end,
                    host="localhost.localdomain")
        assert len(expected["AVERAGE"]) > rows * 0.75, res
        for t, avg in expected["AVERAGE"].items():
            point = got.get(t - res)
            assert point is not None, (res, t)
            assert point[0] == pytest.approx(avg, rel=1e-9), (res, t)
            assert point[1] == pytest.approx(expected["MIN"][t], rel=1e-9)
            assert point[2] == pytest.approx(expected["MAX"][t], rel=1e-9)
            assert point[3] == pytest.approx(expected["LAST"][t], rel=1e-9)
        assert not set(got) - {t - res for t in expected["AVERAGE"]} - {span_end}, res  # nothing invented

    traffic_rrd = root / "localdomain" / file_name(*TRAFFIC)
    expected_rate = rrd_fetch(traffic_rrd, "AVERAGE", 7200, end // 7200 * 7200 - 500 * 7200, end // 7200 * 7200)
    got = query(config, "munin_if_eth0_down", 7200, end // 7200 * 7200 - 500 * 7200, end // 7200 * 7200,
                host="web-01.localdomain", plugin="if_eth0", field="down")
    for t, rate in expected_rate.items():
        assert got[t - 7200][0] == pytest.approx(rate, rel=1e-9)
        assert got[t - 7200][3] == pytest.approx(rate, rel=1e-9)  # no LAST archive: the average stands in

    # a second run adds nothing: skipped from the resume state, and without it the store refuses
    again = json.loads(cli_run(config, "import", "munin", "--datadir", str(root), "--json").stdout)
    assert again["skipped_already_imported"] == 3 and again["imported"] == []
    (tmp_path / "state" / "munin-import.json").unlink()
    again = json.loads(cli_run(config, "import", "munin", "--datadir", str(root), "--json").stdout)
    assert [r["rows"] for r in again["imported"]] == [{}, {}, {}]

    # maintenance a month later (past the 5m tier's 14 days) keeps what was imported
    store = SqliteStore.open(tmp_path / "state", clock=lambda: time.time() + 30 * 86400)
    with store._lock, store._transaction("read") as db:
        before = db.execute("SELECT count(*) FROM rollup_300").fetchone()[0]
    store.maintain(time.time() + 30 * 86400)
    with store._lock, store._transaction("read") as db:
        assert db.execute("SELECT count(*) FROM rollup_300").fetchone()[0] == before
    store.close()


def test_missing_datadir_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path}/state"\n')
    result = cli_run(config, "import", "munin", "--datadir", str(tmp_path / "nope"))
    assert result.exit_code == 3 and "no such directory" in result.output
