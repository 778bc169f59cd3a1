#!/usr/bin/env python3
"""Alert engine figures: the cost of judging one probe result, and how fast a queued alert
reaches a real SMTP server (aiosmtpd on 127.0.0.1), including a backlog after an outage.

Usage: bench/alerts_engine.py [CYCLES=2000]
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP

from yamori.alerts.engine import Alerting
from yamori.config.alerts import AlertsSettings
from yamori.probe import ProbeResult
from yamori.records import Finding, Sample, Severity, State

RULES = [{"name": f"rule{i}", "metric": f"metric{i % 8}", "warning": 90.0, "critical": 95.0, "above": True,
          "for": "5m", "advice": ""} for i in range(8)]


class Inbox:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.event = asyncio.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.arrivals.append(time.perf_counter())
        self.event.set()
        return "250 OK"


def observe_cost(work: Path, cycles: int) -> float:
    """Microseconds per observe() of a 300-sample result with 8 threshold rules, nothing wrong."""
    engine = Alerting(AlertsSettings(), work / "observe", "bench", default_rules=RULES)
    samples = [Sample(f"metric{i % 16}", float(i % 80), {"device": f"d{i}"}) for i in range(300)]
    result = ProbeResult("system", State.OK, "ok", samples, [])
    started = time.process_time()
    for _ in range(cycles):
        engine.observe(result)
    engine.close()
    return (time.process_time() - started) / cycles * 1e6


async def latency(work: Path, rounds: int) -> list[float]:
    """observe() of a CRITICAL finding -> message accepted by the SMTP server, via run()."""
    inbox = Inbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox, hostname="smtp.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = AlertsSettings.model_validate({"email": {"port": port, "to": ["ops@example.org"]}, "repeat": 0})
    engine = Alerting(settings, work / "latency", "bench")
    task = asyncio.create_task(engine.run())
    results = []
    for i in range(rounds):
        inbox.event.clear()
        started = time.perf_counter()
        engine.observe(ProbeResult("raid", State.CRITICAL, "", [], [
            Finding("raid.degraded", Severity.CRITICAL, f"md{i}", "degraded", "replace the disk")]))
        await asyncio.wait_for(inbox.event.wait(), 10)
        results.append((inbox.arrivals[-1] - started) * 1000)
    task.cancel()
    engine.close()
    server.close()
    return results


async def backlog(work: Path, count: int) -> tuple[float, int]:
    """`count` alerts queued while the server is down; seconds to drain once it is back, and
    how many messages arrived (must equal count: nothing lost, nothing twice)."""
    inbox = Inbox()
    probe = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox, hostname="smtp.test"), "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    settings = AlertsSettings.model_validate({"email": {"port": port, "to": ["ops@example.org"]},
                                              "retry_first": "0.2s", "retry_max": "0.2s"})
    engine = Alerting(settings, work / "backlog", "bench")
    findings = [Finding("raid.degraded", Severity.CRITICAL, f"md{i}", "degraded") for i in range(count)]
    engine.observe(ProbeResult("raid", State.CRITICAL, "", [], findings))
    await engine.deliver_pending()  # refused: the server is down
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox, hostname="smtp.test"),
                                                            "127.0.0.1", port)
    started = time.perf_counter()
    task = asyncio.create_task(engine.run())
    while len(inbox.arrivals) < count:
        await asyncio.sleep(0.01)
    drained = time.perf_counter() - started
    await asyncio.sleep(0.5)
    task.cancel()
    engine.close()
    server.close()
    return drained, len(inbox.arrivals)


async def main(cycles: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="yamori-bench-alerts-"))
    try:
        cost = observe_cost(work, cycles)
        print(f"observe(): {cost:.0f} µs CPU per 300-sample result with 8 threshold rules ({cycles} cycles)")
        ms = sorted(await latency(work, 20))
        print(f"finding -> SMTP accepted: median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms (20 rounds)")
        drained, arrived = await backlog(work, 100)
        print(f"100 alerts queued during an SMTP outage: drained {drained:.2f} s after it came back, "
              f"{arrived} arrived (expected 100)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
