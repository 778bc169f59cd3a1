#!/usr/bin/env python3
"""CPU cost of one collection by the host probes (system, hwmon, conntrack), side by side with
the CPU one scrape costs Debian's prometheus-node-exporter on the same machine.

The agent budget is <= 1.5x node_exporter's CPU (scraped every 15 s); the system probe runs every
60 s by default, so its per-call cost has to stay well under one scrape.
Usage: bench/system_collect.py [CALLS=200]
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def per_call(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call, after one warm-up call (the first run has no rates to compute)."""
    fn()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return ((time.process_time() - cpu0) / calls * 1000, (time.perf_counter() - wall0) / calls * 1000)


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def node_exporter_ms_per_scrape(scrapes: int) -> float | None:
    exporter = shutil.which("prometheus-node-exporter")
    if exporter is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exporter, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        for _ in range(100):  # bounded wait for the listener
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        before = process_cpu(proc.pid)
        for _ in range(scrapes):
            urllib.request.urlopen(url, timeout=10).read()
        return (process_cpu(proc.pid) - before) / scrapes * 1000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fixture_sys(root: Path) -> Path:
    """A /sys/class/hwmon tree like a small server's: coretemp (1 package + 4 cores), a Super I/O
    chip (3 fans, 3 temps) and an NVMe drive, for machines (VMs) that have no sensors."""
    chips = {
        "coretemp": {f"temp{i}_{a}": v for i in range(1, 6) for a, v in
                     (("input", "50000"), ("max", "80000"), ("crit", "100000"), ("label", f"Core {i}"))},
        "nct6775": {**{f"fan{i}_{a}": v for i in range(1, 4) for a, v in (("input", "1200"), ("min", "300"))},
                    **{f"temp{i}_input": "35000" for i in range(1, 4)}},
        "nvme": {"temp1_input": "38850", "temp1_max": "81850", "temp1_crit": "84850", "temp1_label": "Composite"},
    }
    for index, (name, attributes) in enumerate(chips.items()):
        chip = root / "class" / "hwmon" / f"hwmon{index}"
        chip.mkdir(parents=True)
        (chip / "name").write_text(name + "\n")
        for attribute, value in attributes.items():
            (chip / attribute).write_text(value + "\n")
    return root


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    started = time.perf_counter()
    from yamori.config import Settings
    from yamori.system import conntrack, hwmon
    from yamori.system import probe as system

    import_ms = (time.perf_counter() - started) * 1000
    settings = Settings()
    found = {"system": system.probes(settings), "hwmon": hwmon.probes(settings),
             "conntrack": conntrack.probes(settings)}
    print(f"import yamori.config + yamori.system.*: {import_ms:.0f} ms")
    results: dict[str, float] = {}
    for name, probes in found.items():
        if not probes:
            print(f"{name:10s} not available on this machine")
            continue
        probe = probes[0]
        cpu_ms, wall_ms = per_call(lambda p=probe: list(p.collect()), calls)
        records = list(probe.collect())  # a steady-state run, rates included
        results[name] = cpu_ms
        print(f"{name:10s} {cpu_ms:6.2f} ms CPU, {wall_ms:6.2f} ms wall per collect ({len(records)} records, "
              f"{calls} calls)")
    with tempfile.TemporaryDirectory() as tmp:
        fixture = hwmon.HwmonProbe(settings.probes.hwmon, fixture_sys(Path(tmp)))
        cpu_ms, wall_ms = per_call(lambda: list(fixture.collect()), calls)
        results["hwmon"] = max(results.get("hwmon", 0.0), cpu_ms)
        print(f"{'hwmon*':10s} {cpu_ms:6.2f} ms CPU, {wall_ms:6.2f} ms wall per collect "
              f"({len(list(fixture.collect()))} records; *fixture tree: 3 chips, 9 temps, 3 fans)")
    node_ms = node_exporter_ms_per_scrape(scrapes=40)
    if node_ms is None:
        print("prometheus-node-exporter not installed: no side-by-side figure")
        return
    total = sum(results.values())
    print(f"node_exporter {node_ms:6.2f} ms CPU per scrape (40 scrapes)")
    print(f"host probes together: {total:.2f} ms CPU = {total / node_ms:.2f}x one node_exporter scrape")
    # Per minute with defaults: system every 60 s, hwmon every 30 s, conntrack every 60 s,
    # against node_exporter scraped every 15 s.
    per_minute = results.get("system", 0) + 2 * results.get("hwmon", 0) + results.get("conntrack", 0)
    print(f"per minute with default intervals: {per_minute:.2f} ms vs node_exporter {4 * node_ms:.2f} ms "
          f"= {per_minute / (4 * node_ms):.2f}x")


if __name__ == "__main__":
    main()
