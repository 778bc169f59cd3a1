"""HTTP(S) requests with the aiohttp client: status, latency, expected body text, redirects,
each over a new connection; and a kept-alive session that tells whether an already open
connection still carries requests (what keeps working when a NAT table is full)."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING, Any

from ...config.network import PathEntry
from .model import Http
from .plan import Target

if TYPE_CHECKING:
    import aiohttp

BODY_LIMIT = 1 << 20   # read at most this much of a body: the far end may be hostile
MAX_REDIRECTS = 10


def _ssl(target: Target, cafile: str | None) -> ssl.SSLContext | bool:
    if target.scheme != "https":
        return False
    return ssl.create_default_context(cafile=cafile)


def describe_error(err: BaseException) -> str:
    import aiohttp

    if isinstance(err, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return f"certificate: {err.certificate_error}"[:200]
    if isinstance(err, aiohttp.ClientConnectorError):
        return (err.strerror or str(err.os_error) or "cannot connect")[:200]
    if isinstance(err, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(err, aiohttp.ClientError):
        return (str(err) or type(err).__name__)[:200]
    return (str(err) or type(err).__name__)[:200]


def status_ok(status: int, settings: PathEntry) -> bool:
    if settings.expect_status:
        return status in settings.expect_status
    return 200 <= status < 400


Attempt = tuple[bool, int | None, float | None, str | None, bool | None, int]


async def request_once(target: Target, settings: PathEntry, timeout: float, cafile: str | None = None) -> Attempt:
    """(ok, status, latency_ms, error, body_ok, redirects) of one request over a new connection."""
    import aiohttp

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(force_close=True, ssl=_ssl(target, cafile))
    try:
        async with (aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))
                    as session,
                    session.get(target.url, allow_redirects=settings.follow_redirects, max_redirects=MAX_REDIRECTS,
                                headers={"User-Agent": "yamori-net"}) as response):
            body = await response.content.read(BODY_LIMIT)
            latency = (time.perf_counter() - started) * 1000.0
            status = response.status
            redirects = len(response.history)
    except Exception as err:  # every failure of the far end is a measurement
        return False, None, None, describe_error(err), None, 0
    body_ok: bool | None = None
    if settings.expect_body is not None:
        body_ok = settings.expect_body.encode() in body
    if not status_ok(status, settings):
        return False, status, latency, f"HTTP {status}", body_ok, redirects
    if body_ok is False:
        return False, status, latency, "the body lacks the expected text", body_ok, redirects
    return True, status, latency, None, body_ok, redirects


async def request_series(target: Target, settings: PathEntry, attempts: int, spacing: float, timeout: float,
                         cafile: str | None = None) -> Http:
    async def delayed(index: int) -> Attempt:
        await asyncio.sleep(index * spacing)
        return await request_once(target, settings, timeout, cafile)

    results = await asyncio.gather(*(delayed(i) for i in range(attempts)))
    succeeded = sum(1 for r in results if r[0])
    statuses = [r[1] for r in results if r[1] is not None]
    errors = [r[3] for r in results if r[3] is not None]
    bodies = [r[4] for r in results if r[4] is not None]
    return Http(attempts, succeeded, statuses[-1] if statuses else None,
                tuple(r[2] for r in results if r[0] and r[2] is not None),
                errors[-1] if errors else None, all(bodies) if bodies else None,
                max((r[5] for r in results), default=0))


class HeldSession:
    """One kept-alive connection per target, reused round after round. `check()` says whether a
    request went over an already open connection (True), failed on it (False) or whether no
    open connection was there to test (None: it had to open a new one)."""

    def __init__(self, timeout: float, keepalive: float = 120.0, cafile: str | None = None) -> None:
        self._timeout = timeout
        self._keepalive = keepalive
        self._cafile = cafile
        self._session: aiohttp.ClientSession | None = None
        self._reused = False

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()

            async def reused(session: Any, context: Any, params: Any) -> None:
                self._reused = True

            trace.on_connection_reuseconn.append(reused)
            connector = aiohttp.TCPConnector(limit_per_host=1, keepalive_timeout=self._keepalive,
                                             ssl=ssl.create_default_context(cafile=self._cafile))
            self._session = aiohttp.ClientSession(connector=connector, trace_configs=[trace],
                                                  timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    async def check(self, target: Target) -> bool | None:
        session = self._open()
        self._reused = False
        try:
            async with session.get(target.url, allow_redirects=False, headers={"User-Agent": "yamori-net"}) as response:
                await response.content.read(BODY_LIMIT)
                worked = response.status < 500
        except Exception:
            worked = False
        if not self._reused:
            return None
        return worked

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
