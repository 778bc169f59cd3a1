"""ICMP echo with icmplib: unprivileged ICMP sockets where net.ipv4.ping_group_range allows the
process's group, raw sockets (root or CAP_NET_RAW) otherwise. The mode is chosen once."""

from __future__ import annotations

import os
from pathlib import Path

from .model import Icmp


def parse_group_range(text: str) -> tuple[int, int] | None:
    fields = text.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None
    return int(fields[0]), int(fields[1])


def unprivileged_allowed(proc: Path = Path("/proc")) -> bool:
    """True when this process's groups fall in net.ipv4.ping_group_range (read through `proc`)."""
    try:
        text = (proc / "sys/net/ipv4/ping_group_range").read_text()
    except OSError:
        return False
    bounds = parse_group_range(text)
    if bounds is None:
        return False
    low, high = bounds
    return any(low <= gid <= high for gid in {os.getgid(), *os.getgroups()})


def choose_privileged(proc: Path = Path("/proc")) -> bool:
    """Raw sockets only when the unprivileged kind is not allowed (they need root or CAP_NET_RAW)."""
    return not unprivileged_allowed(proc)


async def echo(address: str, count: int, interval: float, timeout: float, privileged: bool) -> Icmp:
    """`count` echo requests started `interval` apart, each waiting up to `timeout` for its reply
    (concurrently, so a dead hop costs count*interval + timeout, not count*timeout). Never raises
    for network or permission trouble: that is a measurement too."""
    import asyncio

    async def one(index: int) -> tuple[float | None, str | None]:
        await asyncio.sleep(index * interval)
        return await _echo_once(address, timeout, privileged)

    results = await asyncio.gather(*(one(i) for i in range(count)))
    rtts = tuple(r for r, _ in results if r is not None)
    errors = [e for _, e in results if e is not None]
    return Icmp(count, len(rtts), rtts, errors[-1] if errors else None)


async def _echo_once(address: str, timeout: float, privileged: bool) -> tuple[float | None, str | None]:
    import icmplib  # lazily: the agent loads it only when paths are configured

    try:
        host = await icmplib.async_ping(address, count=1, interval=0, timeout=timeout, privileged=privileged)
    except icmplib.SocketPermissionError:
        mode = "raw sockets (needs root or CAP_NET_RAW)" if privileged else "ICMP sockets (ping_group_range)"
        return None, f"not allowed to send ICMP with {mode}"
    except icmplib.ICMPLibError as err:
        return None, str(err) or type(err).__name__
    except OSError as err:
        return None, err.strerror or str(err)
    if host.packets_received and host.rtts:
        return float(host.rtts[0]), None
    return None, None
