"""One failing or slow probe never stops the others: it becomes UNKNOWN with the reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from yamori.probe import Probe, run_probe
from yamori.records import Finding, Record, Sample, Severity, State


class Broken(Probe):
    name = "broken"

    def collect(self) -> Iterable[Record]:
        raise PermissionError(13, "Permission denied", "/proc/mdstat")


class Slow(Probe):
    name = "slow"
    timeout = 0.2

    async def collect_async(self) -> list[Record]:
        await asyncio.sleep(5)
        return []


class Good(Probe):
    name = "good"

    def collect(self) -> Iterable[Record]:
        yield Sample("x", 1.0)
        yield Finding("good.thing", Severity.WARNING, "disk", "nearly full")


async def test_failures_become_unknown_and_do_not_block_others() -> None:
    started = time.monotonic()
    broken, slow, good = await asyncio.gather(run_probe(Broken()), run_probe(Slow()), run_probe(Good()))
    assert time.monotonic() - started < 2
    assert broken.state == State.UNKNOWN and "Permission denied" in broken.reason and "/proc/mdstat" in broken.reason
    assert slow.state == State.UNKNOWN and "timed out" in slow.reason
    assert good.state == State.WARNING and good.reason == "disk: nearly full"
    assert good.samples[0].time is not None


async def test_clock_is_injected() -> None:
    result = await run_probe(Good(), clock=lambda: 1000.0)
    assert result.started == 1000.0 and result.samples[0].time == 1000.0
