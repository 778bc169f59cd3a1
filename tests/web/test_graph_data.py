"""Graph JSON: decimated to the screen, spikes kept, a year of a series well under 200 KB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from yamori.records import Sample
from yamori.store.base import Point, Series
from yamori.store.sqlite import SqliteStore
from yamori.web.graph import catalog, decimate, group_of, series_json

DAY = 86400.0


def test_decimation_keeps_a_one_minute_spike() -> None:
    points = [Point(60.0 * i, 10.0, 10.0, 10.0, 10.0, 1) for i in range(100_000)]
    points[54_321] = Point(60.0 * 54_321, 10.0, 99.0, 99.0, 99.0, 1)
    out = decimate(points, 0.0, 60.0 * 100_000, 800)
    assert len(out) <= 800
    assert max(p.max for p in out) == 99.0, "the spike survives as a bucket's max"
    assert min(p.min for p in out) == 10.0
    spiked = next(p for p in out if p.max == 99.0)
    assert 10.0 < spiked.avg < 11.0, "the average is weighted by the samples a point stands for"
    assert sum(p.count for p in out) == 100_000


def test_a_year_of_minutes_from_the_store_fits_in_200_kb(tmp_path: Path) -> None:
    """Through the real store: a year at 1-minute resolution stored as the store keeps it
    (written hour by hour with maintain(), coarser tiers built from finer ones)."""
    start = 1_700_000_000.0 - (1_700_000_000.0 % DAY)
    now = [start]
    store = SqliteStore.open(tmp_path, clock=lambda: now[0])
    try:
        # a year at 10-minute steps keeps the test quick; the rollups the query reads are the same shape
        for hour in range(365 * 24):
            base = start + hour * 3600
            store.write_samples([Sample("cpu_percent", float((hour * 7 + m) % 100), {"host": "h"}, "percent",
                                        base + m * 600) for m in range(6)])
            now[0] = base + 3600
            store.maintain(now[0])
        until = now[0]
        series = store.query("cpu_percent", until - 365 * DAY, until)
    finally:
        store.close()
    data = series_json(series, until - 365 * DAY, until, 2000)
    body = json.dumps({"series": data}, separators=(",", ":")).encode()
    assert len(data[0]["t"]) <= 2000
    assert len(body) <= 200_000, f"{len(body)} bytes"
    assert max(v for v in data[0]["max"] if v is not None) == 99.0


def test_groups_are_munin_like() -> None:
    assert group_of("cpu_percent") == "system"
    assert group_of("disk_used_percent") == group_of("raid_health_percent") == "disks"
    assert group_of("net_rx_bytes_per_second") == "network"
    assert group_of("temperature_celsius") == "sensors"
    assert group_of("postgres.replication.replay_lag_seconds") == "postgresql"
    assert group_of("guard_bans_total") == "guard"
    assert group_of("munin_if_eth0_down") == "munin"
    data = catalog([("cpu_percent", {"host": "a"}, "percent"), ("cpu_percent", {"host": "b"}, "percent"),
                    ("fan_rpm", {"host": "a", "fan": "1"}, "rpm")], {"cpu_percent": "busy"})
    assert data["hosts"] == ["a", "b"]
    assert data["groups"]["system"][0] == {"metric": "cpu_percent", "unit": "percent", "help": "busy",
                                           "series": 2, "hosts": ["a", "b"]}
    assert list(data["groups"]) == ["system", "sensors"]


def test_series_from_two_hosts_stay_apart(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path)
    try:
        import time

        t = time.time() - 120
        store.write_samples([Sample("cpu_percent", 1.0, {"host": "db1"}, "percent", t),
                             Sample("cpu_percent", 2.0, {"host": "db2"}, "percent", t)])
        one = store.query("cpu_percent", t - 60, t + 60, labels={"host": "db2"})
    finally:
        store.close()
    assert [s.labels["host"] for s in one] == ["db2"] and one[0].points[0].max == 2.0
    assert series_json([Series("x", {}, "", 0.0, [])], 0, 1, 100)[0]["t"] == []


def test_the_web_package_never_imports_the_agent() -> None:
    code = ("import sys, yamori.web.app, yamori.web.server, yamori.web.pages; "
            "print('yamori.agent' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
    web = Path(__import__("yamori.web", fromlist=["x"]).__file__).parent
    for source in web.glob("*.py"):
        assert "agent import" not in source.read_text() and "from .. import agent" not in source.read_text()
