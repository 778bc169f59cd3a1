"""Log line appended -> address in yamori's nftables set, end to end, in a throwaway netns.

Runs the real guard service (tailer woken by inotify, parser, policy, `nft -j -f -`) on a log file; appends a
failure line for a fresh address ROUNDS times and measures until `nft list set` shows it.
Also: memory while the guard reads a log with one million distinct attacking addresses.
Usage: .venv/bin/python bench/guard_ban_latency.py [ROUNDS=50] [SOURCES=1000000]
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from yamori.config import Settings
from yamori.guard import nft
from yamori.guard.service import GuardService
from yamori.records import Finding, Sample


class NullSink:
    def samples(self, service: str, samples: list[Sample]) -> None:
        pass

    def event(self, service: str, finding: Finding) -> None:
        pass

    def state(self, service: str, findings: list[Finding]) -> None:
        pass


def line(pid: int, addr: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S.000 UTC", time.gmtime())
    return (f"{stamp} [{pid}] [unknown]@[unknown] LOG:  connection received: host={addr} port=5000\n"
            f'{stamp} [{pid}] postgres@postgres FATAL:  no pg_hba.conf entry for host "{addr}", user "postgres", '
            f'database "postgres", no encryption\n')


def latency(rounds: int) -> list[float]:
    ns = f"ymrbench-{int(time.time())}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="yamori-ban-"))
    log = tmp / "postgresql.log"
    log.write_text("")
    argv = ["ip", "netns", "exec", ns, "nft"]
    settings = Settings.model_validate({
        "agent": {"state_dir": str(tmp / "state")},
        "guard": {"logs": [str(log)], "ban": True, "max_failures": 1, "nft": argv, "log_format": "stderr",
                  "log_line_prefix": "%m [%p] %q%u@%d ", "poll_interval": 0.5}})
    service = GuardService(settings)
    loop = asyncio.new_event_loop()
    task = loop.create_task(service.run(NullSink()))
    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    out: list[float] = []
    try:
        time.sleep(1.0)
        for i in range(rounds):
            addr = str(ipaddress.ip_address("198.51.100.0") + i % 250 + 1) if i < 250 else f"2001:db8::{i:x}"
            t0 = time.perf_counter()
            with open(log, "a") as f:
                f.write(line(1000 + i, addr))
            deadline = t0 + 5
            while time.perf_counter() < deadline:
                if any(b.address == addr for b in nft.list_bans("yamori", argv)):
                    out.append(time.perf_counter() - t0)
                    break
                time.sleep(0.01)
            time.sleep(0.05 * (i % 7))   # land at different points of the poll cycle
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=5)
        subprocess.run(["ip", "netns", "delete", ns], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def memory(sources: int) -> tuple[float, float, int]:
    """Peak RSS (MiB) before and after the guard reads a log of `sources` distinct addresses."""
    tmp = Path(tempfile.mkdtemp(prefix="yamori-mem-"))
    log = tmp / "postgresql.log"
    with open(log, "w") as f:
        base = int(ipaddress.ip_address("11.0.0.0"))
        for i in range(sources):
            f.write(line(10_000 + i, str(ipaddress.ip_address(base + i))))
    settings = Settings.model_validate({
        "agent": {"state_dir": str(tmp / "state")},
        "guard": {"logs": [str(log)], "ban": False, "max_failures": 1, "log_format": "stderr",
                  "log_line_prefix": "%m [%p] %q%u@%d "}})
    service = GuardService(settings)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seen = 0
    sink = NullSink()
    while True:
        got = service.poll_once(sink)
        if not got:
            break
        seen += len(got)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shutil.rmtree(tmp, ignore_errors=True)
    return before, after, seen


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    sources = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    got = latency(rounds)
    got.sort()
    p99 = got[min(len(got) - 1, int(len(got) * 0.99))] if got else float("nan")
    print(f"ban latency over {len(got)}/{rounds} rounds (inotify wake-up, 0.5 s polling fallback): "
          f"median {statistics.median(got) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {got[-1] * 1000:.0f} ms")
    before, after, seen = memory(sources)
    print(f"memory: {seen:,} failures from {sources:,} distinct sources read; peak RSS {before:.0f} MiB before, "
          f"{after:.0f} MiB after")


if __name__ == "__main__":
    main()
