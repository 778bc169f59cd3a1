"""What every request to the agent's web server passes before a handler sees it, in order:
security headers on every answer, the Host check (DNS rebinding), the login check (none on a
loopback bind; HTTP Basic for /metrics and /healthz), the CSRF check on every POST."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..config.web import WebSettings, is_loopback
from .passwords import dummy_hash, verify_password
from .sessions import LoginLimiter, Session, Sessions, csrf_ok

COOKIE = "yamori_session"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PUBLIC_ON_LOOPBACK = ("/healthz", "/metrics")
OPEN = ("/login", "/static/")
HandlerT = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Binding:
    host: str
    port: int
    tls: bool

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


class Gate:
    """The sessions, login limiter and users of one web server, and its middlewares."""

    def __init__(self, settings: WebSettings, binding: Binding) -> None:
        self.settings = settings
        self.binding = binding
        self.sessions = Sessions(settings.session_lifetime, clock=time.time)
        self.limiter = LoginLimiter(settings.login_attempts)
        self.users = {u.name: u.password_hash for u in settings.users}
        self.allowed_hosts = self._allowed_hosts()

    def middlewares(self) -> list[Middleware]:
        return [self._headers, self._host_check, self._auth, self._csrf]

    def set_cookie(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="Strict", secure=self.binding.tls,
                            path="/", max_age=int(self.settings.session_lifetime))

    def _allowed_hosts(self) -> set[str]:
        names = {h.lower() for h in self.settings.hostnames}
        host = self.binding.host.lower()
        names.add(host)
        if self.binding.loopback or host in ("0.0.0.0", "::"):
            names.update({"localhost", "127.0.0.1", "::1"})
        return names

    def host_allowed(self, header: str | None) -> bool:
        if not header or len(header) > 300:
            return False
        value = header.strip().lower()
        if value.startswith("["):
            name, _, rest = value[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            name, _, port = value.partition(":")
        if port and not port.isdigit():
            return False
        name = name.rstrip(".")
        if name in self.allowed_hosts:
            return True
        if self.binding.host in ("0.0.0.0", "::"):
            # a wildcard bind is reached by any of this machine's addresses; an address literal
            # cannot be rebound by DNS, a name can
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    @web.middleware
    async def _headers(self, request: web.Request, handler: HandlerT) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:   # redirects and errors carry the headers too
            self._secure(request, exc)
            raise
        self._secure(request, response)
        return response

    def _secure(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        if self.binding.tls:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"

    @web.middleware
    async def _host_check(self, request: web.Request, handler: HandlerT) -> web.StreamResponse:
        if not self.host_allowed(request.headers.get("Host")):
            return web.Response(status=421, text="unknown Host: add it to [web] hostnames\n")
        return await handler(request)

    def session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    @web.middleware
    async def _auth(self, request: web.Request, handler: HandlerT) -> web.StreamResponse:
        path = request.path
        if path.startswith(OPEN) or self.binding.loopback:
            return await handler(request)
        if self.session(request) is not None:
            return await handler(request)
        if path in PUBLIC_ON_LOOPBACK and request.method == "GET" and self._basic_ok(request):
            return await handler(request)
        if path.startswith("/api/") or path in PUBLIC_ON_LOOPBACK:
            return web.json_response({"error": "login required"}, status=401)
        if request.method != "GET":
            return web.json_response({"error": "login required"}, status=401)
        raise web.HTTPSeeOther("/login?next=" + quote(request.rel_url.path_qs, safe=""))

    def _basic_ok(self, request: web.Request) -> bool:
        """HTTP Basic for /metrics and /healthz (what Prometheus' basic_auth sends)."""
        import base64

        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic ") or len(header) > 1024:
            return False
        client = request.remote or "?"
        if not self.limiter.allowed(client):
            return False
        try:
            name, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if verify_password(password, self.users.get(name, dummy_hash())) and name in self.users:
            return True
        self.limiter.failed(client)
        return False

    @web.middleware
    async def _csrf(self, request: web.Request, handler: HandlerT) -> web.StreamResponse:
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path == "/login":
            return await handler(request)
        presented = request.headers.get("X-CSRF-Token")
        if presented is None and request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            value = form.get("csrf")
            presented = value if isinstance(value, str) else None
        if not csrf_ok(self.session(request), presented):
            return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
        return await handler(request)
