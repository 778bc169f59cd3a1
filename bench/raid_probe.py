#!/usr/bin/env python3
"""RAID probe figures: parse cost (side by side with the PyPI `mdstat` parser), CPU per probe
cycle, and change-to-wake latency of both watch paths (content polling on a fixture file, and
the kernel's POLLPRI on a real proc file).

This machine has no md driver, so the POLLPRI path is measured on /proc/<pid>/mounts of a child
in its own mount namespace, which the kernel signals the same way as /proc/mdstat.
Usage: bench/raid_probe.py [ROUNDS=10]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mdstat as pypi_mdstat

from yamori.raid.mdstat import parse_mdstat
from yamori.raid.probe import RaidProbe
from yamori.raid.watch import watch_mdstat

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
FILES = {
    "operator md failed (2 arrays)": FIXTURES / "incidents" / "mdstat-1-member-failed.txt",
    "procfs fixture (18 arrays)": FIXTURES / "corpora" / "mdstat" / "prometheus-procfs" / "proc-mdstat",
    "telegraf raid10 (3 arrays)": FIXTURES / "corpora" / "mdstat" / "telegraf" / "mdStatFileFull",
}


def per_call_us(func, text: str, n: int = 3000) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for _ in range(n):
        func(text)
    return (time.process_time() - start) / n * 1e6


def parse_figures() -> None:
    print("parse cost per file (CPU µs per parse; PyPI mdstat 1.0.4 side by side)")
    for label, path in FILES.items():
        text = path.read_text()
        ours = per_call_us(parse_mdstat, text)
        try:
            theirs = per_call_us(lambda t: pypi_mdstat.parse_lines(t.splitlines()), text)
            ratio = f"{ours / theirs:.2f}x"
        except Exception as err:  # the peer cannot read every file
            theirs, ratio = float("nan"), f"peer fails: {type(err).__name__}"
        print(f"  {label:32s} yamori {ours:7.1f} µs   mdstat {theirs:7.1f} µs   ratio {ratio}")


def probe_cycle_figures(rounds: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copyfile(FILES["operator md failed (2 arrays)"], root / "mdstat")
        probe = RaidProbe(root, root / "dev", use_mdadm=False)
        start = time.process_time()
        for _ in range(rounds):
            list(probe.collect())
        cpu = (time.process_time() - start) / rounds * 1e6
    print(f"probe cycle (read + parse + samples + findings, degraded arrays): {cpu:.1f} µs CPU")


def swap(target: Path, source: Path) -> None:
    temp = target.with_name(target.name + ".new")
    shutil.copyfile(source, temp)
    os.replace(temp, target)


async def content_poll_latency(rounds: int) -> list[float]:
    healthy = FIXTURES / "incidents" / "mdstat-0-healthy.txt"
    failed = FIXTURES / "incidents" / "mdstat-1-member-failed.txt"
    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "mdstat"
        shutil.copyfile(healthy, target)
        events = watch_mdstat(target).__aiter__()
        for i in range(rounds):
            waiter = asyncio.ensure_future(events.__anext__())
            await asyncio.sleep(0.05 + 0.037 * i)  # spread the change across the polling phase
            started = time.monotonic()
            swap(target, failed if i % 2 == 0 else healthy)
            await waiter
            latencies.append(time.monotonic() - started)
        await events.aclose()  # type: ignore[attr-defined]
    return latencies


async def pollpri_latency(rounds: int) -> list[float]:
    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        mnt = Path(tmp) / "mnt"
        mnt.mkdir()
        script = "; ".join(f"read go; mount -t tmpfs b{i} {mnt}" for i in range(rounds)) + "; sleep 2"
        child = await asyncio.create_subprocess_exec(
            "unshare", "--mount", "--propagation", "private", "sh", "-c", script, stdin=asyncio.subprocess.PIPE)
        assert child.stdin is not None
        try:
            await asyncio.sleep(0.3)
            events = watch_mdstat(Path(f"/proc/{child.pid}/mounts")).__aiter__()
            for _ in range(rounds):
                waiter = asyncio.ensure_future(events.__anext__())
                await asyncio.sleep(0.1)
                started = time.monotonic()
                child.stdin.write(b"go\n")
                await child.stdin.drain()
                await asyncio.wait_for(waiter, 5)
                latencies.append(time.monotonic() - started)
            await events.aclose()  # type: ignore[attr-defined]
        finally:
            child.kill()
            await child.wait()
    return latencies


def show(label: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    print(f"  {label:44s} median {statistics.median(ms):6.1f} ms   max {ms[-1]:6.1f} ms   (n={len(ms)})")


def main(rounds: int) -> None:
    parse_figures()
    probe_cycle_figures()
    print("change -> wake latency (mdadm --monitor: 60 s unless woken; Netdata 10 s; Munin 5 min)")
    show("fixture file, content polling every 0.25 s", asyncio.run(content_poll_latency(rounds)))
    if shutil.which("unshare") and os.geteuid() == 0:
        show("proc file, kernel POLLPRI (poll thread)", asyncio.run(pollpri_latency(rounds)))
    else:
        print("  proc POLLPRI path: needs root and unshare(1); not measured")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
