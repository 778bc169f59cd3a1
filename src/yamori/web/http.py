"""A minimal HTTP/1.1 listener for the agent's three read-only pages.

Why not aiohttp here: importing aiohttp.web costs ~12 MB resident, a quarter of the agent's
50 MB budget, for three GET endpoints that Prometheus and a browser read. aiohttp stays the
HTTP client (webhooks, checks) and the dashboard's server, both loaded only when used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

log = logging.getLogger("yamori.web")

MAX_HEAD = 16 * 1024
READ_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes


Handler = Callable[[], Awaitable[Response]]


class Listener:
    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD)
        bound = self.server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            response, method = await self._respond(head)
            status = HTTPStatus(response.status)
            headers = (f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: {response.content_type}\r\n"
                       f"Content-Length: {len(response.body)}\r\nConnection: close\r\n"
                       "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n")
            writer.write(headers.encode("latin-1") + (b"" if method == "HEAD" else response.body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except Exception:  # a bug in a page must not take the agent down
            log.exception("error serving an HTTP request")
        finally:
            writer.close()

    async def _respond(self, head: bytes) -> tuple[Response, str]:
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return _plain(400, "bad request\n"), "GET"
        method, target = parts[0], parts[1].split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return _plain(405, "only GET and HEAD\n"), method
        handler = self.routes.get(target)
        if handler is None:
            return _plain(404, "not found\n"), method
        return await handler(), method


def _plain(status: int, text: str) -> Response:
    return Response(status, "text/plain; charset=utf-8", text.encode())
