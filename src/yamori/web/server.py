"""Start the web server: the listening socket, TLS, and the connection caps.

A connection over the cap is closed at once, before it costs a request handler; the cap
also leaves `fd_reserve` file descriptors for the guard's log files, nft and SMTP."""

from __future__ import annotations

import logging
import resource
import ssl
from collections import Counter
from typing import Any

from aiohttp import web

from ..config.types import parse_listen
from ..config.web import WebSettings, listen_problem
from .app import WebApp
from .gate import Binding
from .view import WebView

log = logging.getLogger("yamori.web")

KEEPALIVE = 10.0


class WebRefused(Exception):
    """The settings do not allow serving (a non-loopback bind without users)."""


def connection_cap(settings: WebSettings) -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, soft - settings.fd_reserve))


class WebServer:
    def __init__(self, runner: web.AppRunner, bound: tuple[str, int], cap: int) -> None:
        self.runner = runner
        self.bound = bound
        self.cap = cap
        self.refused = 0

    async def close(self) -> None:
        await self.runner.cleanup()


def _guard_connections(server: Any, cap: int, per_client: int, owner: list[WebServer]) -> None:
    """Wrap aiohttp's connection bookkeeping: over a cap, abort the new connection."""
    per_ip: Counter[str] = Counter()
    peers: dict[Any, str] = {}
    made, lost = server.connection_made, server.connection_lost

    def connection_made(handler: Any, transport: Any) -> None:
        made(handler, transport)
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if peer else "?"
        if len(server._connections) > cap or per_ip[ip] >= per_client:
            if owner:
                owner[0].refused += 1
            transport.abort()
            return
        per_ip[ip] += 1
        peers[handler] = ip

    def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
        ip = peers.pop(handler, None)
        if ip is not None:
            per_ip[ip] -= 1
            if per_ip[ip] <= 0:
                del per_ip[ip]
        lost(handler, exc)

    server.connection_made = connection_made
    server.connection_lost = connection_lost


async def start_web(view: WebView, listen: str, settings: WebSettings) -> WebServer:
    problem = listen_problem(listen, settings)
    if problem:
        raise WebRefused(f"agent.listen: {problem}")
    host, port = parse_listen(listen)
    context = None
    if settings.tls_cert and settings.tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    app = WebApp(view, settings, Binding(host, port, context is not None)).build()
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE, handle_signals=False,
                           max_line_size=8190, max_field_size=8190)
    await runner.setup()
    cap = connection_cap(settings)
    owner: list[WebServer] = []
    _guard_connections(runner.server, cap, settings.max_per_client, owner)
    site = web.TCPSite(runner, host, port, ssl_context=context, backlog=min(128, cap), reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr,attr-defined]
    bound = sockets[0].getsockname()
    server = WebServer(runner, (str(bound[0]), int(bound[1])), cap)
    owner.append(server)
    return server
