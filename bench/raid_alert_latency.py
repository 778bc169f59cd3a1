#!/usr/bin/env python3
"""Degraded array -> alert mail accepted by the SMTP server, end to end.

Runs the real agent (in this process) on a fixture /proc root and a real aiosmtpd server,
swaps /proc/mdstat from the operator's healthy file to the failed one ROUNDS times, and prints
the latency of each mail. For comparison: mdadm --monitor polls every 60 s unless woken,
Munin every 5 min, Netdata's alarm every 10 s; the operator's incident took five days.
Usage: bench/raid_alert_latency.py [ROUNDS=10]
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

from aiosmtpd.handlers import Message
from aiosmtpd.smtp import SMTP

from yamori.agent import Agent
from yamori.config import parse_config

REPO = Path(__file__).resolve().parent.parent
INCIDENTS = REPO / "tests" / "fixtures" / "incidents"


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []
        self.event = asyncio.Event()

    def handle_message(self, message: object) -> None:
        if "CRITICAL" in str(message["Subject"]):  # type: ignore[index]
            self.arrivals.append(time.monotonic())
            self.event.set()


def swap(target: Path, source: Path) -> None:
    temp = target.with_suffix(".new")
    shutil.copyfile(source, temp)
    os.replace(temp, target)


async def main(rounds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="yamori-bench-"))
    (work / "proc").mkdir()
    (work / "sys").mkdir()
    mdstat = work / "proc" / "mdstat"
    shutil.copyfile(INCIDENTS / "mdstat-0-healthy.txt", mdstat)
    inbox = Inbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox, hostname="smtp.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = parse_config(f"""
[agent]
listen = "127.0.0.1:0"
state_dir = "{work / 'var'}"
proc = "{work / 'proc'}"
sys = "{work / 'sys'}"
[probes.system]
enabled = false
[probes.hwmon]
enabled = false
[probes.conntrack]
enabled = false
[audit]
enabled = false
[guard]
enabled = false
[alerts]
repeat = 0
flapping = 0   # the bench fails the array every second on purpose: no flapping protection
[alerts.email]
port = {port}
to = ["ops@example.org"]
""")
    agent = Agent(settings)
    task = asyncio.create_task(agent.run(install_signals=False))
    latencies = []
    try:
        await agent.ready.wait()
        while "raid" not in agent.state.results:
            await asyncio.sleep(0.05)
        for _ in range(rounds):
            inbox.event.clear()
            started = time.monotonic()
            swap(mdstat, INCIDENTS / "mdstat-1-member-failed.txt")
            await asyncio.wait_for(inbox.event.wait(), 30)
            latencies.append(inbox.arrivals[-1] - started)
            swap(mdstat, INCIDENTS / "mdstat-0-healthy.txt")
            while agent.state.results["raid"].state.value != 0:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
    finally:
        agent.stop()
        await task
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    ms = sorted(x * 1000 for x in latencies)
    print(f"degraded -> mail accepted, {len(ms)} rounds: median {statistics.median(ms):.0f} ms, "
          f"p95 {ms[max(0, int(len(ms) * 0.95) - 1)]:.0f} ms, max {ms[-1]:.0f} ms (target <= 5000, aim <= 1000)")
    print("peers (their documented defaults): mdadm --monitor 60 s poll unless woken, "
          "Netdata alarm 10 s, Munin 300 s")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
