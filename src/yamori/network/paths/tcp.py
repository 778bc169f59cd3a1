"""TCP connect timing with asyncio: how each attempt ended and how long the handshake took."""

from __future__ import annotations

import asyncio
import errno
import socket
import time

from .model import ERROR, OK, REFUSED, RESET, TIMEOUT, UNREACHABLE, Tcp

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


def classify(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return TIMEOUT
    if isinstance(err, ConnectionRefusedError):
        return REFUSED
    if isinstance(err, ConnectionResetError):
        return RESET
    if isinstance(err, OSError) and err.errno in _UNREACHABLE:
        return UNREACHABLE
    if isinstance(err, OSError) and err.errno == errno.ETIMEDOUT:
        return TIMEOUT
    return ERROR


async def connect_once(host: str, port: int, timeout: float) -> tuple[str, float | None]:
    """One connect; (outcome, milliseconds when it worked). The connection is closed at once."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, family=socket.AF_UNSPEC)
    except (OSError, TimeoutError) as err:
        return classify(err), None
    elapsed = (time.perf_counter() - started) * 1000.0
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
    return OK, elapsed


async def connect_series(host: str, port: int, attempts: int, spacing: float, timeout: float) -> Tcp:
    """`attempts` connects started `spacing` seconds apart (they overlap when one stalls)."""

    async def delayed(index: int) -> tuple[str, float | None]:
        await asyncio.sleep(index * spacing)
        return await connect_once(host, port, timeout)

    results = await asyncio.gather(*(delayed(i) for i in range(attempts)))
    return Tcp(port, tuple(o for o, _ in results), tuple(ms for _, ms in results if ms is not None))
