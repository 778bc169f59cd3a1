#!/usr/bin/env python3
"""Environment domain figures, side by side with NUT's own `upsc` where there is a peer.

1. One UPS read (LIST VAR over the NUT protocol) through yamori's client against a real upsd +
   dummy-ups on loopback, next to `upsc NAME@127.0.0.1:PORT` doing the same, ROUNDS times each.
2. OL -> OB: the dummy's state file is edited; time until yamori's ups probe (polled every
   0.1 s) reports ups.on_battery, next to a `upsc` loop seeing `OB` (both bounded by the
   driver's pollinterval = 1 s).
3. Pure work per cycle: an envelope assessment, and parsing each SMART fixture.

Usage: bench/environment.py [ROUNDS=50]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.nutserver import nut_available, nut_server  # noqa: E402

from yamori.config.environment import EnvironmentSettings, UpsEntry  # noqa: E402
from yamori.disks.smart import parse_smartctl  # noqa: E402
from yamori.environment.envelope import Reading, assess  # noqa: E402
from yamori.records import Finding  # noqa: E402
from yamori.ups.client import read_variables  # noqa: E402
from yamori.ups.probe import UpsProbe  # noqa: E402

STATE = {"ups.status": "OL", "battery.charge": "100", "battery.runtime": "3600", "ups.load": "20"}


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms"


def bench_reads(port: int, rounds: int) -> None:
    entry = UpsEntry(name="ups", port=port)
    ours: list[float] = []
    cpu0 = time.process_time()
    for _ in range(rounds):
        start = time.perf_counter()
        asyncio.run(read_variables(entry, 5.0))
        ours.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu0) / rounds
    peer: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(["upsc", f"ups@127.0.0.1:{port}"], capture_output=True, check=True)
        peer.append(time.perf_counter() - start)
    ratio = statistics.median(ours) / statistics.median(peer)
    print(f"| one UPS read (LIST VAR), n={rounds} | yamori {ms(ours)}, {cpu * 1000:.2f} ms CPU "
          f"| upsc {ms(peer)} (ratio {ratio:.2f}x) |")


def bench_outage(server, port: int) -> None:  # type: ignore[no-untyped-def]
    settings = EnvironmentSettings.model_validate({"ups": [{"name": "ups", "port": port}]})
    ours: list[float] = []
    peer: list[float] = []
    for _ in range(3):
        server.write_dev({**STATE, "ups.status": "OB DISCHRG"})
        start = time.perf_counter()
        while time.perf_counter() - start < 10:
            records = asyncio.run(UpsProbe(settings).collect_async())
            if any(isinstance(r, Finding) and r.check == "ups.on_battery" for r in records):
                ours.append(time.perf_counter() - start)
                break
            time.sleep(0.1)
        server.set_state(STATE)
        server.write_dev({**STATE, "ups.status": "OB DISCHRG"})
        start = time.perf_counter()
        while time.perf_counter() - start < 10:
            out = subprocess.run(["upsc", f"ups@127.0.0.1:{port}", "ups.status"], capture_output=True, text=True)
            if out.stdout.startswith("OB"):
                peer.append(time.perf_counter() - start)
                break
            time.sleep(0.1)
        server.set_state(STATE)
    print(f"| OL -> OB seen (driver polls every 1 s), n={len(ours)} | yamori {ms(ours)} | upsc loop {ms(peer)} |")


def bench_pure(rounds: int) -> None:
    reading = Reading(27.0, 60.0)
    start = time.process_time()
    for _ in range(rounds * 1000):
        assess(reading, "A2")
    per = (time.process_time() - start) / (rounds * 1000)
    print(f"| envelope assessment (dew point + both bands) | {per * 1e6:.1f} µs CPU | — |")
    for path in sorted((REPO / "tests" / "fixtures" / "smart").glob("*.json")):
        text = path.read_text()
        start = time.process_time()
        for _ in range(rounds):
            parse_smartctl(text, "/dev/x")
        per = (time.process_time() - start) / rounds
        print(f"| parse `{path.name}` ({len(text) // 1024} KiB) | {per * 1e6:.0f} µs CPU | — |")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print("| figure | yamori | side by side |\n|---|---|---|")
    reason = nut_available()
    if reason is None and os.path.exists("/usr/bin/upsc"):
        with nut_server(STATE) as server:
            bench_reads(server.port, rounds)
            bench_outage(server, server.port)
    else:
        print(f"| UPS figures | skipped: {reason or 'upsc missing (nut-client)'} | |")
    bench_pure(rounds)


if __name__ == "__main__":
    main()
