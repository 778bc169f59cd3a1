#!/usr/bin/env python3
"""A year-long graph query over the SQLite store's rollups (target: <= 50 ms).

Builds a store holding a year of 1-minute data for one series (525,600 samples) the way the
agent would: through the real write_samples() + maintain() path, one simulated hour at a time
(60 samples, then maintain() at the end of the hour), with an injected clock and the default
retention (raw 2d, 5m 14d, 1h 90d, 1d 10y). Then times query(metric, now-365d, now), median
of 20 runs, and prints the DB size, write throughput and maintain() cost. A second scenario
writes 200 series every simulated minute with maintain() each minute (an agent's real rhythm).
With --postgres, the same year runs on a throwaway PostgreSQL cluster (the shared backend).
No peer tool is named for this figure (rrdtool is not packaged here); the target is absolute.
Usage: bench/store_query.py [--keep DIR] [--postgres]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from yamori.records import Sample
from yamori.store.sql import SqlStore
from yamori.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parent.parent

DAY = 86400
START = 19675 * DAY  # a UTC midnight
METRIC = "cpu.busy_percent"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def value(minute: int) -> float:
    return float((minute * 7919) % 1000) / 10.0  # deterministic, varied


def build_year(store: SqlStore, clock: Clock) -> tuple[list[float], list[float]]:
    writes: list[float] = []
    maintains: list[float] = []
    hours = 365 * 24
    for hour in range(hours):
        first = hour * 60
        batch = [Sample(METRIC, value(m), {"host": "db1"}, "percent", START + 60 * m) for m in range(first, first + 60)]
        clock.now = START + (hour + 1) * 3600
        t0 = time.perf_counter()
        store.write_samples(batch)
        t1 = time.perf_counter()
        store.maintain(clock.now)
        t2 = time.perf_counter()
        writes.append(t1 - t0)
        maintains.append(t2 - t1)
        if hour % (60 * 24) == 0:
            print(f"  building: day {hour // 24:3d} of 365", flush=True)
    return writes, maintains


def time_query(store: SqlStore, since: float, until: float, runs: int = 20) -> tuple[float, int, float]:
    timings = []
    points = 0
    step = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        (series,) = store.query(METRIC, since, until)
        timings.append(time.perf_counter() - t0)
        points, step = len(series.points), series.step
    return statistics.median(timings), points, step


def fleet(directory: Path, series: int = 200, minutes: int = 360) -> tuple[float, float, float]:
    """`series` series written every minute for `minutes`, maintain() every minute."""
    clock = Clock(START)
    store = SqliteStore.open(directory, clock=clock)
    writes, maintains = [], []
    for minute in range(minutes):
        clock.now = START + 60 * (minute + 1)
        batch = [Sample("disk.io_bytes", value(minute + i), {"device": f"sd{i}"}, "bytes", clock.now)
                 for i in range(series)]
        t0 = time.perf_counter()
        store.write_samples(batch)
        t1 = time.perf_counter()
        store.maintain(clock.now)
        writes.append(t1 - t0)
        maintains.append(time.perf_counter() - t1)
    store.close()
    return series * minutes / sum(writes), statistics.median(maintains), max(maintains)


def sizes(directory: Path) -> str:
    files = {p.name.removeprefix("yamori.sqlite") or "db": p.stat().st_size for p in directory.glob("yamori.sqlite*")}
    return ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sorted(files.items()))


def count(store: SqlStore, sql: str) -> Any:
    with store._lock, store._transaction("read") as db:  # a bench may peek inside
        return db.execute(sql).fetchone()[0]


def report_year(store: SqlStore, clock: Clock) -> None:
    t0 = time.perf_counter()
    writes, maintains = build_year(store, clock)
    build = time.perf_counter() - t0
    now = clock.now
    samples = 365 * DAY // 60
    print(f"built in {build:.1f} s: {samples:,} samples, {len(writes):,} write_samples() + maintain() calls")
    print(f"write throughput (60-sample batches): {samples / sum(writes):,.0f} samples/s")
    print(f"maintain() per simulated hour: median {statistics.median(maintains) * 1e3:.2f} ms, "
          f"max {max(maintains) * 1e3:.1f} ms")
    rows = {t.name: count(store, f"SELECT count(*) FROM {t.table}") for t in store.tiers}
    print("rows kept: " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
    for label, span in (("1 hour", 3600), ("1 day", DAY), ("7 days", 7 * DAY), ("30 days", 30 * DAY),
                        ("365 days", 365 * DAY)):
        median, points, step = time_query(store, now - span, now)
        flag = "  <- target <= 50 ms" if span == 365 * DAY else ""
        print(f"query {label:>8}: median of 20 {median * 1e3:6.2f} ms, {points:4d} points, step {step:g} s{flag}")


def sqlite_year(directory: Path) -> None:
    print(f"SQLite: a year of 1-minute samples for one series in {directory} ...", flush=True)
    clock = Clock(START)
    store = SqliteStore.open(directory, clock=clock)
    report_year(store, clock)
    print(f"DB files: {sizes(directory)}")
    store.close()  # the last connection to close checkpoints the WAL into the file
    print(f"DB files after close: {sizes(directory)}")
    # The CLI's case: a fresh process opens the file and asks once.
    t0 = time.perf_counter()
    fresh = SqliteStore.open(directory, create=False, clock=clock)
    fresh.query(METRIC, clock.now - 365 * DAY, clock.now)
    print(f"open + first year query on a new connection: {(time.perf_counter() - t0) * 1e3:.2f} ms")
    fresh.close()


def postgres_year() -> None:
    """The same on a throwaway PostgreSQL cluster (tests/support/pgcluster), over TCP loopback."""
    sys.path.insert(0, str(REPO))
    from tests.support.pgcluster import running_cluster

    from yamori.store.postgres import PostgresStore

    base = Path(tempfile.mkdtemp(prefix="yamori-bench-pg-"))
    base.chmod(0o755)
    try:
        with running_cluster(base) as cluster:
            print(f"PostgreSQL {cluster.port}: the same year ...", flush=True)
            clock = Clock(START)
            store = PostgresStore(cluster.dsn, {"raw": 2.0 * DAY, "5m": 14.0 * DAY, "1h": 90.0 * DAY,
                                                "1d": 3650.0 * DAY}, clock)
            report_year(store, clock)
            size = count(store, "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                                "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace")
            print(f"tables + indexes: {int(size) / 1e6:.2f} MB")
            store.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the year store in DIR (must not hold one) and keep it")
    parser.add_argument("--postgres", action="store_true", help="also run the year on a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_year(args.keep or Path(tmp) / "year")
        print("fleet: 200 series written every minute for 6 simulated hours, maintain() every minute ...",
              flush=True)
        rate, median, worst = fleet(Path(tmp) / "fleet")
        print(f"fleet write throughput (200-sample batches): {rate:,.0f} samples/s")
        print(f"fleet maintain() per minute: median {median * 1e3:.2f} ms, max {worst * 1e3:.1f} ms")
    if args.postgres:
        postgres_year()


if __name__ == "__main__":
    main()
