#!/usr/bin/env python3
"""The dashboard under a year of data (targets: overview and one graph's year ≤ 100 ms each,
graph JSON ≤ 200 KB, agent RSS ≤ 64 MB with the dashboard loaded, CPU ≤ 1.5× node_exporter).

Builds a SQLite store holding 100 series × a year of 1-minute samples the way the agent would:
write_samples() of each simulated hour, then maintain() (default retention: raw 2d, 5m 14d,
1h 90d, 1d 10y), ending now; by default each stretch older than 14 days is written at the
resolution the retention keeps there (same rows in every table; --full writes every minute).
The store is cached under bench/out/ for a day.
Then starts the real `yamori run` on it (system probes on this machine, guard and audit off),
times GET / , /api/overview and /api/series for a year (median of 20), loads every page, and
over the same minute scrapes the agent's /metrics and Debian's prometheus-node-exporter every
15 s, comparing CPU time. Usage: bench/web_dashboard.py [--days 365] [--seconds 60] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_footprint import cpu_seconds, free_port, memory_kib

from yamori.records import Sample
from yamori.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
HOST = "bench"
METRICS = [("cpu_percent", "cpu", "percent"), ("disk_used_percent", "mount", "percent"),
           ("disk_read_bytes_per_second", "device", "bytes/s"), ("disk_write_bytes_per_second", "device", "bytes/s"),
           ("net_rx_bytes_per_second", "interface", "bytes/s"), ("net_tx_bytes_per_second", "interface", "bytes/s"),
           ("temperature_celsius", "sensor", "celsius"), ("fan_rpm", "fan", "rpm"),
           ("postgres.connections", "server", ""), ("guard_auth_failures_total", "kind", "")]


def value(series: int, minute: int) -> float:
    spike = 500.0 if (minute * 31 + series * 977) % 100_003 == 0 else 0.0
    return float((minute * 7919 + series * 104729) % 1000) / 10.0 + spike


def step_at(age_days: float, full: bool) -> int:
    """Seconds between written samples. --full writes every minute of the year. By default
    each stretch is written at the finest resolution the default retention still keeps
    there (raw and 5m rollups for 14 days, 1h rollups to 90 days, 1d beyond): the store
    ends with the same rows in every table as after a year of 1-minute samples, in a tenth
    of the time."""
    if full or age_days <= 14:
        return 60
    return 300 if age_days <= 90 else 3600


def build(directory: Path, days: int, full: bool = False) -> tuple[float, int]:
    end = time.time() // 3600 * 3600
    start = end - days * 86400
    clock = [start]
    store = SqliteStore.open(directory, clock=lambda: clock[0])
    labels = [(metric, {key: f"{key}{i}", "host": HOST}, unit) for metric, key, unit in METRICS for i in range(10)]
    t0 = time.perf_counter()
    written = 0
    try:
        for hour in range(days * 24):
            base = start + hour * 3600
            step = step_at((end - base) / 86400, full)
            batch = [Sample(metric, value(s, hour * 60 + m), lab, unit, base + 60 * m)
                     for s, (metric, lab, unit) in enumerate(labels) for m in range(0, 60, step // 60)]
            written += len(batch)
            store.write_samples(batch)
            clock[0] = base + 3600
            store.maintain(clock[0])
            if hour % (24 * 30) == 0:
                print(f"  building: day {hour // 24} of {days} ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        store.close()
    return time.perf_counter() - t0, written


def cached_store(days: int, full: bool) -> Path:
    directory = OUT / f"web-store-{days}d{'-full' if full else ''}"
    stamp = directory / "built"
    if stamp.exists() and time.time() - stamp.stat().st_mtime < 86400:
        print(f"store: cached {directory} ({stamp.read_text().strip()})")
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    seconds, samples = build(directory, days, full)
    size = sum(p.stat().st_size for p in directory.glob("yamori.sqlite*")) / 1e6
    stamp.write_text(f"{samples:,} samples in {seconds:.0f} s, {size:.0f} MB")
    print(f"store: built {samples:,} samples in {seconds:.0f} s ({size:.0f} MB)")
    return directory


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def timed(url: str, pid: int, runs: int = 20) -> tuple[float, float, int]:
    """Median wall time of a request, the agent's CPU time per request, the body size."""
    get(url)
    times = []
    size = 0
    cpu0 = cpu_seconds(pid)
    for _ in range(runs):
        t0 = time.perf_counter()
        size = len(get(url))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, (cpu_seconds(pid) - cpu0) / runs * 1e3, size


def start_agent(state: Path, root: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    config = root / "yamori.toml"
    config.write_text(f'[agent]\nlisten = "127.0.0.1:{port}"\nstate_dir = "{state}"\nhostname = "{HOST}"\n'
                      "[guard]\nenabled = false\n[audit]\nenabled = false\n")
    proc = subprocess.Popen([sys.executable, "-m", "yamori.cli.__main__", "--config", str(config), "run"],
                            stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(url + "healthz")
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the agent did not start")


def start_node_exporter() -> tuple[subprocess.Popen[bytes] | None, str]:
    binary = shutil.which("prometheus-node-exporter")
    if binary is None:
        return None, ""
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            get(url)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    return None, ""


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--full", action="store_true", help="write every minute of the year (~10x longer)")
    args = parser.parse_args()
    state = cached_store(args.days, args.full)
    work = OUT / "web-bench"
    work.mkdir(parents=True, exist_ok=True)
    agent, url = start_agent(state, work)
    exporter = None
    try:
        rows = []
        pid = agent.pid
        rows.append(("GET / (overview page)", *timed(url, pid)))
        rows.append(("GET /api/overview", *timed(url + "api/overview", pid)))
        one = url + "api/series?metric=cpu_percent&range=year&width=1000&host=bench"
        catalog = json.loads(get(url + "api/graphs"))
        series_count = sum(m["series"] for g in catalog["groups"].values() for m in g)
        rows.append(("year graph, 10 series × 1000 px (/api/series)", *timed(one, pid)))
        rows.append(("year graph, 10 series × 2000 px", *timed(one.replace("width=1000", "width=2000"), pid)))
        rows.append(("GET /api/graphs (catalog)", *timed(url + "api/graphs", pid)))
        for page in ("graphs", "raid", "postgres", "guard", "audit", "metrics", "healthz"):
            get(url + page)
        for metric, _, _ in METRICS:   # the graphs page loads every graph's year once
            get(url + f"api/series?metric={metric}&range=year&width=1000")
        print(f"\nstore: {series_count} series; agent pid {agent.pid}")
        load = os.getloadavg()[0]
        head = f"request (machine load {load:.1f})"
        print(f"{head:<50} {'median ms':>10} {'CPU ms':>8} {'bytes':>10}")
        for name, ms, cpu, size in rows:
            print(f"{name:<50} {ms:>10.1f} {cpu:>8.1f} {size:>10,}")
        rss = memory_kib(agent.pid)
        print(f"\nagent RSS with the dashboard loaded: {rss['VmRSS'] / 1024:.1f} MB "
              f"(peak {rss['VmHWM'] / 1024:.1f} MB)")
        exporter, exporter_url = start_node_exporter()
        time.sleep(2)
        agent_cpu0 = cpu_seconds(agent.pid)
        exporter_cpu0 = cpu_seconds(exporter.pid) if exporter else 0.0
        scrapes = max(1, args.seconds // 15)
        for _ in range(scrapes):
            get(url + "metrics")
            if exporter:
                get(exporter_url)
            time.sleep(args.seconds / scrapes)
        agent_cpu = cpu_seconds(agent.pid) - agent_cpu0
        rss_after = memory_kib(agent.pid)
        print(f"CPU over {args.seconds} s ({scrapes} scrapes of /metrics): yamori {agent_cpu * 1e3:.0f} ms", end="")
        if exporter:
            exporter_cpu = cpu_seconds(exporter.pid) - exporter_cpu0
            exporter_rss = memory_kib(exporter.pid)["VmRSS"] / 1024
            ratio = agent_cpu / exporter_cpu if exporter_cpu else float("inf")
            print(f", node_exporter {exporter_cpu * 1e3:.0f} ms, ratio {ratio:.2f} (target ≤ 1.5); "
                  f"node_exporter RSS {exporter_rss:.1f} MB")
        else:
            print("; prometheus-node-exporter not installed: no peer figure")
        print(f"agent RSS after the minute: {rss_after['VmRSS'] / 1024:.1f} MB")
    finally:
        stop(agent)
        stop(exporter)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
