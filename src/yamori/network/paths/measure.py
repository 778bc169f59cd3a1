"""One round over one path: every probe of every hop and target, run concurrently and spread
over a few seconds, gathered into a `Round`."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ...system.conntrack import ConntrackFormatError, read_conntrack
from . import http, icmp, tcp
from .model import HopResult, Http, Icmp, Round, TargetResult
from .plan import PathPlan, Target
from .tls import tls_facts


@dataclass(frozen=True, slots=True)
class Options:
    count: int = 20              # echo requests per hop and target
    spread: float = 4.0          # seconds the echo requests and connects are spread over
    attempts: int = 5            # new TCP connects (and HTTP requests) per target and traced port
    timeout: float = 3.0
    privileged: bool = True
    cafile: str | None = None
    proc: Path = Path("/proc")

    @property
    def echo_interval(self) -> float:
        return self.spread / max(self.count, 1)

    @property
    def connect_spacing(self) -> float:
        return self.spread / max(self.attempts, 1)


def conntrack_percent(proc: Path) -> float | None:
    try:
        usage = read_conntrack(proc)
    except (OSError, ConntrackFormatError):
        return None
    return None if usage is None else usage.used_percent


async def _address_of(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return str(infos[0][4][0]) if infos else None


async def _target(target: Target, plan: PathPlan, options: Options, held: http.HeldSession | None,
                  held_task: asyncio.Future[bool | None] | None) -> TargetResult:
    address = await _address_of(target.host)

    async def echo() -> Icmp | None:
        if address is None:
            return Icmp(options.count, 0, (), f"cannot resolve {target.host}")
        return await icmp.echo(address, options.count, options.echo_interval, options.timeout, options.privileged)

    echo_task = asyncio.ensure_future(echo())
    connects = tcp.connect_series(address or target.host, target.port, options.attempts,
                                  options.connect_spacing, options.timeout)
    requests = None
    tls_task = None
    if target.is_http:
        requests = http.request_series(target, plan.settings, options.attempts, options.connect_spacing,
                                       options.timeout, options.cafile)
        if target.scheme == "https" and address is not None:
            tls_task = asyncio.ensure_future(tls_facts(address, target.port, target.host, options.timeout,
                                                       options.cafile))
    tcp_result, http_result = await asyncio.gather(connects, requests if requests is not None else _none())
    held_state: bool | None = None
    if held is not None and held_task is not None:
        held_before = await held_task
        held_after = await held.check(target)
        held_state = None if held_after is None else (held_after and held_before is not False)
    if http_result is not None and tls_task is not None:
        tls_result = await tls_task
        http_result = Http(http_result.attempts, http_result.succeeded, http_result.status, http_result.latency_ms,
                           http_result.error, http_result.body_ok, http_result.redirects, tls_result)
    return TargetResult(target, await echo_task, tcp_result, http_result, held_state)


async def _none() -> None:
    return None


async def measure(plan: PathPlan, options: Options,
                  held: dict[str, http.HeldSession] | None = None, clock: float | None = None) -> Round:
    started = time.time() if clock is None else clock
    # import what the round needs before timing anything: an import on the event loop in the
    # middle of a round (aiohttp takes a few hundred ms) would make echo replies look lost
    import icmplib  # noqa: F401

    if any(t.is_http for t in plan.targets):
        import aiohttp  # noqa: F401
    ports = plan.target_ports()

    async def hop_result(index: int) -> HopResult:
        hop = plan.hops[index]
        echo = icmp.echo(hop.address, options.count, options.echo_interval, options.timeout, options.privileged)
        services = [tcp.connect_series(hop.address, port, options.attempts, options.connect_spacing, options.timeout)
                    for port in hop.tcp_ports]
        traces = [tcp.connect_series(hop.address, port, min(options.attempts, 3), options.connect_spacing,
                                     options.timeout) for port in ports]
        echo_result, *rest = await asyncio.gather(echo, *services, *traces)
        return HopResult(hop, echo_result, tuple(rest[:len(services)]), tuple(rest[len(services):]))  # type: ignore[arg-type]

    held = held if held is not None else {}
    held_tasks: dict[str, asyncio.Future[bool | None]] = {}
    for target in plan.targets:
        if target.is_http:
            if target.url not in held:
                held[target.url] = http.HeldSession(options.timeout, cafile=options.cafile)
            held_tasks[target.url] = asyncio.ensure_future(held[target.url].check(target))
    if held_tasks:
        # the kept-alive connections are opened (or reused) first, before any new connect starts
        await asyncio.wait(list(held_tasks.values()), timeout=min(options.timeout, 1.0))
    hops_and_targets = await asyncio.gather(
        *(hop_result(i) for i in range(len(plan.hops))),
        *(_target(t, plan, options, held.get(t.url), held_tasks.get(t.url)) for t in plan.targets))
    hops = tuple(r for r in hops_and_targets if isinstance(r, HopResult))
    targets = tuple(r for r in hops_and_targets if isinstance(r, TargetResult))
    return Round(plan.name, started, hops, targets, conntrack_percent(options.proc))
