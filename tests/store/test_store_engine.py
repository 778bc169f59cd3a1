"""The rollup store's behaviour, the same on both backends: SQLite files in tmp_path and a
real PostgreSQL cluster (one schema per store). Writes, rollups against a naive
recomputation, retention, resolution choice, latest, findings history."""

from __future__ import annotations

import itertools
import math
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.pgcluster import Cluster, running_cluster

from yamori.records import Finding, Sample, Severity
from yamori.store import RollupRow, StoreError
from yamori.store.postgres import PostgresStore
from yamori.store.sql import SqlStore
from yamori.store.sqlite import SqliteStore

DAY = 86400
BASE = 19675 * DAY  # a UTC midnight (2023-11-14)
LONG = {"raw": 30.0 * DAY, "5m": 30.0 * DAY, "1h": 30.0 * DAY, "1d": 3650.0 * DAY}
DEFAULT = {"raw": 2.0 * DAY, "5m": 14.0 * DAY, "1h": 90.0 * DAY, "1d": 3650.0 * DAY}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Make = Callable[..., SqlStore]
_names = itertools.count()


@pytest.fixture
def clock() -> Clock:
    return Clock(BASE)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="yamori-pg-"))
    base.chmod(0o755)  # the cluster runs as postgres
    try:
        with running_cluster(base) as running:
            yield running
    finally:
        shutil.rmtree(base, ignore_errors=True)


def schema_dsn(cluster: Cluster, name: str) -> str:
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
    return f"{cluster.dsn} options='-c search_path={name}'"


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """make_store(name=None, retention=DEFAULT, clock=...): the same name opens the same store."""
    opened: list[SqlStore] = []
    where: dict[str, Any] = {}

    def make(name: str | None = None, retention: Mapping[str, float] = DEFAULT,
             clock: Callable[[], float] | None = None) -> SqlStore:
        name = name or f"s{next(_names)}"
        clock = clock or Clock(BASE)
        store: SqlStore
        if request.param == "sqlite":
            store = SqliteStore.open(tmp_path / name, retention, clock=clock)
        else:
            if "cluster" not in where:
                where["cluster"] = request.getfixturevalue("cluster")
            store = PostgresStore(schema_dsn(where["cluster"], name), retention, clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def minutes(start: float, count: int, metric: str = "cpu", labels: dict[str, str] | None = None) -> list[Sample]:
    return [Sample(metric, float(i % 97), labels or {"cpu": "0"}, "%", start + 60 * i) for i in range(count)]


def feed(store: SqlStore, clock: Clock, start: float, hours: int, **kw: Any) -> None:
    """An hour of 1-minute samples per call, maintain() after each, as the agent would."""
    for h in range(hours):
        clock.now = start + (h + 1) * 3600
        store.write_samples(minutes(start + h * 3600, 60, **kw))
        store.maintain(clock.now)


def table_rows(store: SqlStore, table: str) -> dict[tuple[int, int], tuple[Any, ...]]:
    with store._lock, store._transaction("read") as db:
        return {(sid, b): tuple(rest) for sid, b, *rest in db.execute(f"SELECT * FROM {table}").fetchall()}


# -- rollups against a naive recomputation ---------------------------------------------------

def naive(samples: list[tuple[int, float]], res: int) -> dict[int, tuple[float, float, float, int, float]]:
    buckets: dict[int, list[tuple[int, float]]] = {}
    for t, v in samples:
        buckets.setdefault(t // res * res, []).append((t, v))
    return {b: (min(v for _, v in vs), max(v for _, v in vs), sum(v for _, v in vs), len(vs), max(vs)[1])
            for b, vs in buckets.items()}


values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
events = st.lists(st.tuples(st.integers(0, 3 * DAY), values), min_size=1, max_size=80, unique_by=lambda e: e[0])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(events=events, data=st.data())
def test_rollups_equal_a_naive_recomputation_whatever_the_arrival_order(
        make_store: Make, events: list[tuple[int, float]], data: st.DataObject) -> None:
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=6)))
    delays = data.draw(st.lists(st.integers(0, 3 * 3600), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    clock = Clock(BASE)
    store = make_store(retention=LONG, clock=clock)
    newest = BASE
    for batch, delay in zip(_split(order, cuts), delays, strict=True):
        store.write_samples([Sample("m", v, {}, "", BASE + t) for t, v in batch])
        newest = max([newest, *(BASE + t for t, _ in batch)])
        clock.now = max(clock.now, newest) + delay
        store.maintain(clock.now)
    clock.now = BASE + 5 * DAY  # every bucket closed
    store.maintain(clock.now)
    for res in (300, 3600, DAY):
        expected = naive(events, res)
        stored = {b - BASE: row for (_, b), row in table_rows(store, f"rollup_{res}").items()}
        assert stored.keys() == expected.keys()
        for b, (lo, hi, total, count, last) in expected.items():
            assert stored[b][:2] == (lo, hi) and stored[b][3:5] == (count, last)
            assert stored[b][2] == pytest.approx(total, rel=1e-9, abs=1e-6)
        (series,) = store.query("m", BASE, BASE + 4 * DAY, step=res)
        assert [(p.time - BASE, p.min, p.max, p.count, p.last) for p in series.points] == [
            (b, lo, hi, count, last) for b, (lo, hi, _, count, last) in sorted(expected.items())]
    store.close()  # one connection per example, not one per test


def _split(items: list[tuple[int, float]], cuts: list[int]) -> list[list[tuple[int, float]]]:
    edges = [0, *cuts, len(items)]
    return [items[a:b] for a, b in itertools.pairwise(edges)]


def test_query_includes_data_not_rolled_up_yet(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    feed(store, clock, BASE, 30)  # a day and six hours: the 1d table holds one day
    clock.now += 1800
    store.write_samples(minutes(clock.now - 1800, 30))  # written, no maintain() since
    (series,) = store.query("cpu", BASE, clock.now, step=DAY)
    assert [p.count for p in series.points] == [1440, 6 * 60 + 30]
    assert series.points[-1].last == 29.0  # the newest sample, written after the last maintain()


# -- retention ---------------------------------------------------------------------------

def test_each_table_is_pruned_by_its_own_retention(make_store: Make, clock: Clock) -> None:
    retention = {"raw": 3600.0, "5m": 1.0 * DAY, "1h": 2.0 * DAY, "1d": 10.0 * DAY}
    store = make_store(retention=retention, clock=clock)
    feed(store, clock, BASE, 4 * 24)
    raw_times = [t for _, t in table_rows(store, "raw")]
    assert len(raw_times) == 60 and min(raw_times) >= clock.now - 3600
    for res, keep in ((300, DAY), (3600, 2 * DAY), (DAY, 10 * DAY)):
        buckets = [b for _, b in table_rows(store, f"rollup_{res}")]
        assert clock.now - keep - res <= min(buckets)
        assert len(buckets) == min(keep + res, 4 * DAY) // res
    # The history beyond raw's retention is still there at coarser steps.
    (series,) = store.query("cpu", BASE, clock.now)
    assert series.step == DAY and sum(p.count for p in series.points) == 4 * 1440


def test_a_series_no_longer_written_leaves_latest_then_the_series_list(make_store: Make, clock: Clock) -> None:
    store = make_store(retention={"raw": 3600.0, "5m": 7200.0}, clock=clock)
    store.write_samples([Sample("gone", 1.0, {"disk": "sdb"}, "", BASE)])
    feed(store, clock, BASE, 2)
    assert ("gone", {"disk": "sdb"}, "") in store.metrics()
    feed(store, clock, clock.now, 3)
    assert [s.metric for s in store.latest()] == ["cpu"]
    # PostgreSQL keeps series rows: another host's agent may hold their ids.
    assert [m for m, _, _ in store.metrics()] == (["cpu", "gone"] if isinstance(store, PostgresStore) else ["cpu"])
    store.write_samples([Sample("gone", 2.0, {"disk": "sdb"}, "", clock.now)])  # comes back
    assert store.latest()[-1].metric == "gone"


# -- resolution choice ------------------------------------------------------------------------

def test_query_resolution_follows_the_range(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    feed(store, clock, BASE, 3 * 24)
    now = clock.now
    cases = [(3600, 0.0, 60), (DAY, 0.0, 1440), (2.5 * DAY, 300.0, 720), (3 * DAY, 300.0, 864)]
    for span, step, points in cases:
        (series,) = store.query("cpu", now - span, now)
        assert (series.step, len(series.points)) == (step, points), span
    (year,) = store.query("cpu", now - 365 * DAY, now)
    assert year.step == DAY and [p.count for p in year.points] == [1440, 1440, 1440]
    (ten_minutes,) = store.query("cpu", now - DAY, now, step=600)
    assert ten_minutes.step == 600 and all(p.count == 10 for p in ten_minutes.points)


def test_raw_points_are_the_samples_as_written(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    clock.now = BASE + 600
    store.write_samples([Sample("load", 1.5, {}, "", BASE + 60), Sample("load", 0.25, {}, "", BASE + 120)])
    (series,) = store.query("load", BASE, clock.now)
    assert series.step == 0
    assert [(p.time, p.min, p.max, p.avg, p.last, p.count) for p in series.points] == [
        (BASE + 60, 1.5, 1.5, 1.5, 1.5, 1), (BASE + 120, 0.25, 0.25, 0.25, 0.25, 1)]


def test_label_filter_and_unknown_metric(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    clock.now = BASE + 3600
    for cpu in ("0", "1"):
        store.write_samples(minutes(BASE, 10, labels={"cpu": cpu, "host": "db1"}))
    assert [s.labels["cpu"] for s in store.query("cpu", BASE, clock.now)] == ["0", "1"]
    assert [s.labels["cpu"] for s in store.query("cpu", BASE, clock.now, labels={"cpu": "1"})] == ["1"]
    assert store.query("cpu", BASE, clock.now, labels={"cpu": "7"}) == []
    assert store.query("nope", BASE, clock.now) == []


# -- writes, latest, findings -----------------------------------------------------------------

def test_latest_is_the_newest_sample_per_series_whatever_the_write_order(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    clock.now = BASE + 100
    store.write_samples([Sample("temp", 40.0, {"chip": "a"}, "celsius", BASE + 50),
                         Sample("temp", 41.0, {"chip": "a"}, "celsius", BASE + 60),
                         Sample("fan", 900.0, {}, "rpm")])  # no time: stamped with the clock
    store.write_samples([Sample("temp", 39.0, {"chip": "a"}, "celsius", BASE + 55)])  # late
    assert [(s.metric, s.labels, s.unit, s.value, s.time) for s in store.latest()] == [
        ("fan", {}, "rpm", 900.0, BASE + 100), ("temp", {"chip": "a"}, "celsius", 41.0, BASE + 60)]


def test_nan_is_no_measurement_and_labels_are_canonical(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    store.write_samples([Sample("x", math.nan, {"b": "2", "a": "1"}, "", BASE),
                         Sample("x", 1.0, {"a": "1", "b": "2"}, "", BASE + 1)])
    assert store.metrics() == [("x", {"a": "1", "b": "2"}, "")]
    (series,) = store.query("x", BASE - 10, BASE + 10)
    assert [p.avg for p in series.points] == [1.0]


def test_findings_history_keeps_one_span_per_continuous_finding(make_store: Make, clock: Clock) -> None:
    store = make_store(clock=clock)
    degraded = Finding("raid.degraded", Severity.CRITICAL, "md1", "md1 is degraded: sdb3 failed", "mdadm --detail")
    fan = Finding("hwmon.fan_stopped", Severity.CRITICAL, "fan2", "fan2 stopped")
    store.write_findings("raid", [degraded], BASE)
    store.write_findings("hwmon", [fan], BASE)
    store.write_findings("raid", [degraded], BASE + 60)
    store.write_findings("hwmon", [], BASE + 60)
    store.write_findings("hwmon", [fan], BASE + 120)
    spans = store.findings(BASE, BASE + 200)
    assert [(s.probe, s.finding, s.first_seen, s.last_seen, s.cleared) for s in spans] == [
        ("raid", degraded, BASE, BASE + 60, None),
        ("hwmon", fan, BASE, BASE, BASE + 60),
        ("hwmon", fan, BASE + 120, BASE + 120, None)]
    assert [s.cleared for s in store.findings(BASE + 61, BASE + 200, probe="hwmon")] == [None]

def test_reopening_keeps_data_and_a_new_resolution_is_backfilled(make_store: Make, clock: Clock) -> None:
    store = make_store("again", LONG, clock)
    feed(store, clock, BASE, 3)
    store.close()
    store = make_store("again", {**LONG, "1m": 30.0 * DAY}, clock)
    store.maintain(clock.now)
    (series,) = store.query("cpu", BASE, clock.now, step=60)
    assert len(series.points) == 180 and all(p.count == 1 for p in series.points)


# -- PostgreSQL only ---------------------------------------------------------------------------

def test_two_hosts_write_and_maintain_one_shared_store_concurrently(cluster: Cluster) -> None:
    """Writers hold a shared advisory lock and maintain() an exclusive one: no sample is lost
    between a rollup and a concurrent write, none is counted twice."""
    dsn = schema_dsn(cluster, "shared")
    clock = Clock(BASE)
    hosts = [PostgresStore(dsn, DEFAULT, clock) for _ in range(2)]
    errors: list[BaseException] = []

    def agent(store: PostgresStore, host: str) -> None:
        try:
            for hour in range(24):
                start = BASE + hour * 3600
                for quarter in range(4):  # four writes an hour, then maintain()
                    clock.now = max(clock.now, start + (quarter + 1) * 900)
                    store.write_samples(minutes(start + quarter * 900, 15, labels={"host": host}))
                store.maintain(clock.now)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=agent, args=(store, f"db{i}")) for i, store in enumerate(hosts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    clock.now = BASE + 2 * DAY
    hosts[0].maintain(clock.now)
    result = hosts[1].query("cpu", BASE, clock.now, step=3600)
    assert [s.labels["host"] for s in result] == ["db0", "db1"]
    for series in result:
        assert [p.count for p in series.points] == [60] * 24
    for store in hosts:
        store.close()


def test_connection_problems_name_the_server_never_the_password(cluster: Cluster) -> None:
    dsn = f"host=127.0.0.1 port={cluster.port} user=nobody_here password=s3cret dbname=postgres connect_timeout=5"
    with pytest.raises(StoreError) as err:
        PostgresStore(dsn, DEFAULT)
    assert f"PostgreSQL 127.0.0.1:{cluster.port}/postgres: cannot connect" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_newer_schema_is_refused(cluster: Cluster) -> None:
    dsn = schema_dsn(cluster, "future")
    PostgresStore(dsn, DEFAULT).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE yamori_schema SET version = 99")
    with pytest.raises(StoreError, match=r"written by a newer yamori \(schema 99"):
        PostgresStore(dsn, DEFAULT)


def test_the_store_reconnects_after_the_server_restarted(cluster: Cluster) -> None:
    store = PostgresStore(schema_dsn(cluster, "restart"), DEFAULT, Clock(BASE + 600))
    store.write_samples([Sample("load", 1.0, {}, "", BASE)])
    cluster.stop("fast")
    cluster.start()
    with pytest.raises(StoreError, match=r"PostgreSQL 127\.0\.0\.1"):
        store.write_samples([Sample("load", 2.0, {}, "", BASE + 60)])  # the old connection is gone
    store.write_samples([Sample("load", 3.0, {}, "", BASE + 120)])
    (series,) = store.query("load", BASE, BASE + 600)
    assert [p.avg for p in series.points] == [1.0, 3.0]
    store.close()



# -- imported history (import_rollups) -------------------------------------------------------

def _hourly(start: int, hours: int, value: float = 10.0) -> list[RollupRow]:
    return [RollupRow(start + h * 3600, 3600, value - 1, value + 1, value * 12, 12, value, start + h * 3600 + 3599)
            for h in range(hours)]


def test_imported_history_ends_before_live_data_is_never_counted_twice_and_outlives_retention(
        make_store: Make) -> None:
    clock = Clock(BASE + 10 * DAY)
    store = make_store(clock=clock)
    live_start = BASE + 10 * DAY - 2 * 3600
    store.write_samples(minutes(live_start, 120, "fan", {"host": "h"}))
    old = _hourly(BASE - 100 * DAY, 24 * 112)  # 112 days of hours, running into the live samples
    added = store.import_rollups("fan", {"host": "h"}, "rpm", {"1h": old})
    # only whole buckets before the series' own first sample are taken
    assert added == {"1h": sum(1 for r in old if r.bucket_start + 3600 <= live_start)}
    assert store.import_rollups("fan", {"host": "h"}, "rpm", {"1h": old}) == {}  # a second run adds nothing
    before = table_rows(store, "rollup_3600")
    store.maintain(clock.now)
    after = table_rows(store, "rollup_3600")
    imported = {k: v for k, v in before.items() if k[1] < live_start}
    assert {k: after[k] for k in imported} == imported  # kept although older than the 90-day retention
    assert all(v[3] == 12 for k, v in after.items() if k in imported)  # never rolled again into themselves
    series = store.query("fan", BASE - 100 * DAY, BASE - 90 * DAY, step=3600)
    assert len(series) == 1 and series[0].unit == "rpm"
    assert {p.avg for p in series[0].points} == {10.0} and len(series[0].points) == 10 * 24 + 1
    with pytest.raises(ValueError, match="no rollup tier 7m"):
        store.import_rollups("fan", {}, "", {"7m": old})


def test_import_into_an_empty_store_sets_the_rollup_marks_so_maintain_does_not_reroll(make_store: Make) -> None:
    clock = Clock(BASE)
    store = make_store(clock=clock)
    day = [RollupRow(BASE - DAY + i * 300, 300, 1.0, 3.0, 2.0, 1, 2.0, BASE - DAY + i * 300 + 299) for i in range(288)]
    hours = _hourly(BASE - DAY, 24, 2.0)
    assert store.import_rollups("m", {}, "", {"5m": day, "1h": hours}) == {"5m": 288, "1h": 24}
    store.maintain(BASE + 3600)
    rows = table_rows(store, "rollup_3600")
    assert len(rows) == 24 and {v[3] for v in rows.values()} == {12}  # not 12 + 12 from re-rolling the 5m rows
