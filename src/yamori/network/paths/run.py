"""Run rounds over declared paths and judge them: shared by `net diagnose` and the agent probe."""

from __future__ import annotations

import asyncio
import socket

from ...config import Settings
from ...records import Finding
from . import icmp
from .http import HeldSession
from .measure import Options, measure
from .model import Round
from .plan import PathPlan
from .verdict import Verdict, judge


def here(settings: Settings) -> str:
    return settings.agent.hostname or socket.gethostname()


def options_for(plan: PathPlan, settings: Settings, count: int, spread: float) -> Options:
    return Options(count=count, spread=spread, attempts=5, timeout=plan.settings.timeout,
                   privileged=icmp.choose_privileged(settings.agent.proc), cafile=plan.settings.ca_file,
                   proc=settings.agent.proc)


async def diagnose(plans: list[PathPlan], settings: Settings, count: int = 20,
                   spread: float | None = None) -> list[tuple[Round, Verdict]]:
    """One round of every path, concurrently, each judged on its own. The echo requests and
    connects are spread over `spread` seconds: by default 0.2 s per echo, at most 4 s."""
    spread = min(4.0, 0.2 * count) if spread is None else spread
    async def one(plan: PathPlan) -> tuple[Round, Verdict]:
        held: dict[str, HeldSession] = {}
        try:
            measured = await measure(plan, options_for(plan, settings, count, spread), held)
        finally:
            for session in held.values():
                await session.close()
        return measured, judge(plan, [measured], here(settings))

    return list(await asyncio.gather(*(one(p) for p in plans)))


async def check_dns(settings: Settings) -> list[Finding]:
    """Every [[network.dns]] name at every resolver: the net.dns findings."""
    from ..dns import DnsProbe

    found: list[Finding] = []
    for entry in settings.network.dns:
        records = await DnsProbe(entry).collect_async()
        found.extend(r for r in records if isinstance(r, Finding))
    return found
