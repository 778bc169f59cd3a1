"""The agent's one web server (aiohttp.web): pages, JSON API, /metrics, /healthz, static files.

Every request first passes the gate (web/gate.py: security headers, Host check, login, CSRF).
Strings from logs, configs and probes reach the pages only through Jinja2's autoescape, under a
CSP without inline script."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config.web import WebSettings
from . import graph, i18n, pages
from .gate import COOKIE, Binding, Gate, HandlerT
from .metrics import exposition
from .passwords import dummy_hash, verify_password
from .sessions import Session
from .view import WebView

log = logging.getLogger("yamori.web")

HERE = Path(__file__).parent
STATIC = HERE / "static"
PRE_COOKIE = "yamori_login"
MAX_BODY = 64 * 1024


class WebApp:
    def __init__(self, view: WebView, settings: WebSettings, binding: Binding) -> None:
        self.view = view
        self.settings = settings
        self.binding = binding
        self.gate = gate = Gate(settings, binding)
        self.sessions, self.limiter, self.users = gate.sessions, gate.limiter, gate.users

    # -- setup ---------------------------------------------------------------------------
    def build(self) -> web.Application:
        app = web.Application(middlewares=self.gate.middlewares(),
                              client_max_size=MAX_BODY)
        r = app.router
        r.add_get("/", self.overview_page)
        r.add_get("/graphs", self.graphs_page)
        r.add_get("/raid", self.raid_page)
        r.add_get("/postgres", self.page("postgres", pages.postgres))
        r.add_get("/guard", self.page("guard", pages.guard))
        r.add_get("/audit", self.page("audit", pages.audit))
        r.add_get("/environment", self.page("environment", pages.environment))
        r.add_get("/login", self.login_page)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/healthz", self.healthz)
        r.add_get("/metrics", self.metrics)
        r.add_get("/api/overview", self.api_overview)
        r.add_get("/api/raid", self.api_raid)
        r.add_get("/api/postgres", self.api(pages.postgres))
        r.add_get("/api/guard", self.api(pages.guard))
        r.add_get("/api/audit", self.api(pages.audit))
        r.add_get("/api/environment", self.api(pages.environment_api))
        r.add_get("/api/graphs", self.api_graphs)
        r.add_get("/api/series", self.api_series)
        r.add_post("/api/guard/unban", self.unban)
        r.add_post("/api/alerts/ack", self.acknowledge)
        r.add_post("/api/audit/run", self.run_audit)
        r.add_static("/static/", STATIC, follow_symlinks=False, append_version=False)
        return app

    # -- rendering -----------------------------------------------------------------------
    def _context(self, request: web.Request) -> tuple[dict[str, Any], Session | None]:
        """Template context; on a loopback bind a session is made on the fly (it carries the
        CSRF token the action forms need)."""
        session = self.gate.session(request)
        new = None
        if session is None and self.binding.loopback:
            session = new = self.sessions.create("local")
        lang = i18n.pick(request.headers.get("Accept-Language", ""), self.settings.lang)
        context = {"t": i18n.translator(lang), "lang": lang, "csrf": session.csrf if session else "",
                   "user": session.user if session and not self.binding.loopback else None,
                   "host": self.view.hostname, "path": request.path}
        return context, new

    @functools.cached_property
    def env(self) -> Any:
        """The template engine, made at the first page asked for: an agent whose pages nobody
        opens (only /metrics scraped) does not carry jinja2 (~1.8 MB resident)."""
        import jinja2

        return jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                                  autoescape=True, undefined=jinja2.StrictUndefined)

    def render(self, request: web.Request, template: str, status: int = 200, **data: Any) -> web.Response:
        context, new = self._context(request)
        body = self.env.get_template(template).render(**context, **data)
        response = web.Response(text=body, content_type="text/html", charset="utf-8", status=status)
        if new is not None:
            self.gate.set_cookie(response, new)
        return response

    def page(self, name: str, data: Callable[[WebView], dict[str, Any]]) -> HandlerT:
        async def handler(request: web.Request) -> web.StreamResponse:
            return self.render(request, f"{name}.html", page=name, data=data(self.view))
        return handler

    def api(self, data: Callable[[WebView], dict[str, Any]]) -> HandlerT:
        async def handler(request: web.Request) -> web.StreamResponse:
            return _json(data(self.view))
        return handler

    async def _overview(self) -> dict[str, Any]:
        data = pages.overview(self.view)
        try:
            latest = await self.view.in_store(lambda store: store.latest())
        except Exception:   # the store being unreachable must not take the overview down
            log.exception("reading the store for the overview")
            latest = []
        data["hosts"] = pages.hosts(self.view, latest)
        return data

    async def overview_page(self, request: web.Request) -> web.StreamResponse:
        return self.render(request, "overview.html", page="overview", data=await self._overview())

    async def api_overview(self, request: web.Request) -> web.StreamResponse:
        return _json(await self._overview())

    async def _raid(self) -> dict[str, Any]:
        detail = await self.view.raid_arrays() if self.view.raid_arrays else None
        return pages.raid(self.view, detail)

    async def raid_page(self, request: web.Request) -> web.StreamResponse:
        return self.render(request, "raid.html", page="raid", data=await self._raid())

    async def api_raid(self, request: web.Request) -> web.StreamResponse:
        return _json(await self._raid())

    async def graphs_page(self, request: web.Request) -> web.StreamResponse:
        return self.render(request, "graphs.html", page="graphs", data={})

    # -- login ---------------------------------------------------------------------------
    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return self._login_form(request)

    def _login_form(self, request: web.Request, error: str = "", status: int = 200) -> web.Response:
        import secrets

        token = secrets.token_urlsafe(24)
        nxt = request.query.get("next", "/")
        response = self.render(request, "login.html", status=status, page="login", login_token=token,
                               error=error, next=nxt if _local_path(nxt) else "/")
        response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="Strict", secure=self.binding.tls,
                            path="/login", max_age=600)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        t = i18n.translator(i18n.pick(request.headers.get("Accept-Language", ""), self.settings.lang))
        client = request.remote or "?"
        form = await request.post()
        token = form.get("csrf")
        cookie = request.cookies.get(PRE_COOKIE)
        import hmac

        if not (isinstance(token, str) and cookie and hmac.compare_digest(token.encode(), cookie.encode())):
            return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
        if not self.limiter.allowed(client):
            return self._login_form(request, t("Too many attempts; wait a minute."), status=429)
        name, password = form.get("user"), form.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or len(password) > 1024:
            return self._login_form(request, t("Login failed."), status=401)
        stored = self.users.get(name)
        ok = verify_password(password, stored or dummy_hash()) and stored is not None
        if not ok:
            self.limiter.failed(client)
            log.warning("web login failed from %s", client)
            return self._login_form(request, t("Login failed."), status=401)
        session = self.sessions.create(name)
        nxt = form.get("next")
        response = web.HTTPSeeOther(nxt if isinstance(nxt, str) and _local_path(nxt) else "/")
        self.gate.set_cookie(response, session)
        response.del_cookie(PRE_COOKIE, path="/login")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.drop(request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    # -- machine endpoints ---------------------------------------------------------------
    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return _json(pages.health(self.view))

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        body = exposition(self.view)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def api_graphs(self, request: web.Request) -> web.StreamResponse:
        from .metrics import help_texts

        entries = await self.view.in_store(lambda store: store.metrics())
        data = graph.catalog(entries, help_texts())
        data["ranges"] = graph.RANGES
        data["thresholds"] = self.view.thresholds
        return _json(data)

    async def api_series(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        metric = q.get("metric", "")
        if not metric or len(metric) > 200:
            return web.json_response({"error": "metric= is required"}, status=400)
        now = self.view.clock()
        try:
            until = float(q["to"]) if q.get("to") else now
            since = float(q["from"]) if q.get("from") else until - graph.RANGES.get(q.get("range", "day"), 86400.0)
        except ValueError:
            return web.json_response({"error": "from= and to= are UNIX times in seconds"}, status=400)
        if not since < until or until - since > 20 * 365 * 86400.0:
            return web.json_response({"error": "from must be before to, at most 20 years apart"}, status=400)
        width = graph.clamp_width(q.get("width"))
        labels = {"host": q["host"]} if q.get("host") else None
        series = await self.view.in_store(lambda store: store.query(metric, since, until, None, labels))
        return _json({"metric": metric, "from": since, "to": until, "width": width,
                      "unit": series[0].unit if series else "",
                      "thresholds": self.view.thresholds.get(metric, []),
                      "series": graph.series_json(series, since, until, width)})

    # -- actions -------------------------------------------------------------------------
    async def _fields(self, request: web.Request) -> dict[str, str]:
        if request.content_type == "application/json":
            try:
                data = await request.json()
            except ValueError:
                return {}
            return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
        form = await request.post()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def _done(self, request: web.Request, result: dict[str, Any], status: int = 200) -> web.StreamResponse:
        if request.content_type == "application/x-www-form-urlencoded" and status == 200:
            back = request.query.get("back", "/")
            raise web.HTTPSeeOther(back if _local_path(back) else "/")
        return _json(result, status=status)

    async def unban(self, request: web.Request) -> web.StreamResponse:
        address = (await self._fields(request)).get("address", "")
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return _json({"error": "address must be an IP address"}, status=400)
        try:
            removed = await self.view.unban(address)
        except Exception as err:   # nft failing: say so, keep serving
            return _json({"error": f"unban failed: {err}"}, status=500)
        log.info("web: %s unbanned %s", self._who(request), address)
        return self._done(request, {"address": address, "removed": removed})

    async def acknowledge(self, request: web.Request) -> web.StreamResponse:
        fields = await self._fields(request)
        key = (fields.get("rule", ""), fields.get("subject", ""))
        if not self.view.acknowledge(key[0], key[1], self._who(request)):
            return _json({"error": "no such active alert"}, status=404)
        return self._done(request, {"rule": key[0], "subject": key[1], "acknowledged": True})

    async def run_audit(self, request: web.Request) -> web.StreamResponse:
        findings = await self.view.run_audit()
        self.view.audit_findings = findings
        self.view.audit_ran_at = self.view.clock()
        return self._done(request, pages.audit(self.view))

    def _who(self, request: web.Request) -> str:
        session = self.gate.session(request)
        return session.user if session else "?"


def _local_path(target: str) -> bool:
    """Only same-site paths: never //host or scheme:// (an open redirect)."""
    return target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 500


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str),
                        content_type="application/json", status=status)
