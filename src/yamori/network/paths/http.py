"""HTTP(S) requests with the aiohttp client: status, latency, expected body text, redirects,
each over a new connection; and a kept-alive session that tells whether an already open
connection still carries requests (what keeps working when a NAT table is full)."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...config.network import PathEntry
from .model import Http
from .plan import Target

if TYPE_CHECKING:
    pass

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


def _clean(text: str) -> str:
    return "".join(c for c in text if c.isprintable() and c not in " \r\n")


class HeldSession:
    """One kept-alive connection to a target, reused round after round, carrying a HEAD request
    each time. `check()` says whether an already open connection still carried a request (True),
    stalled on it (False), or that no open connection was there to test (None: it had to open
    one, or the server had closed the idle one, which is no sign of trouble)."""

    def __init__(self, timeout: float, keepalive: float = 120.0, cafile: str | None = None) -> None:
        self._timeout = timeout
        self._keepalive = keepalive
        self._cafile = cafile
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last = 0.0

    def _usable(self) -> bool:
        return (self._writer is not None and self._reader is not None and not self._writer.is_closing()
                and not self._reader.at_eof() and time.monotonic() - self._last < self._keepalive)

    async def _open(self, target: Target) -> None:
        context = ssl.create_default_context(cafile=self._cafile) if target.scheme == "https" else None
        async with asyncio.timeout(self._timeout):
            self._reader, self._writer = await asyncio.open_connection(
                target.host, target.port, ssl=context, server_hostname=target.host if context else None)

    async def check(self, target: Target) -> bool | None:
        reused = self._usable()
        if not reused:
            await self.close()
            try:
                await self._open(target)
            except (OSError, TimeoutError, ssl.SSLError):
                return None
        assert self._reader is not None and self._writer is not None
        parts = urlsplit(target.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (f"HEAD {_clean(path)} HTTP/1.1\r\nHost: {_clean(parts.netloc)}\r\n"
                   "User-Agent: yamori-net\r\nConnection: keep-alive\r\n\r\n")
        try:
            self._writer.write(request.encode("ascii", "replace"))
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()
                head = await self._reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            await self.close()
            return False if reused else None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await self.close()
            return None   # closed by the server (idle timeout) or not HTTP: no evidence either way
        self._last = time.monotonic()
        status_line, _, headers = head.decode("latin-1").partition("\r\n")
        if not status_line.startswith("HTTP/1.") or "connection: close" in headers.lower():
            await self.close()
        return True if reused else None

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            except (OSError, TimeoutError, ssl.SSLError):
                pass
