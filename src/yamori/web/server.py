"""The agent's HTTP listener: /metrics (Prometheus), /healthz (JSON), / (status page)."""

from __future__ import annotations

import html
import json
import time
from typing import TYPE_CHECKING, Any

from ..config.types import parse_listen
from ..records import worst_state
from .http import Listener, Response
from .metrics import exposition

if TYPE_CHECKING:
    from ..agent import Agent


async def start_web(agent: Agent) -> tuple[Listener, tuple[str, int]]:
    async def metrics() -> Response:
        return Response(200, "text/plain; version=0.0.4; charset=utf-8", exposition(agent.state))

    async def healthz() -> Response:
        return Response(200, "application/json", json.dumps(health(agent), ensure_ascii=False).encode())

    async def status() -> Response:
        return Response(200, "text/html; charset=utf-8", status_page(health(agent)).encode())

    listener = Listener({"/metrics": metrics, "/healthz": healthz, "/": status})
    host, port = parse_listen(agent.settings.agent.listen)
    return listener, await listener.start(host, port)


def health(agent: Agent) -> dict[str, Any]:
    results = agent.state.results
    alerting = agent.alerting
    return {
        "status": "ok",
        "host": agent.state.hostname,
        "uptime_seconds": round(time.time() - agent.state.started, 1),
        "state": worst_state([r.state for r in results.values()]).label,
        "probes": [r.as_json() for r in results.values()],
        "services": list(agent.state.services),
        "alerts": [a.as_json() for a in alerting.active()] if alerting else [],
        "delivery": alerting.delivery_status().as_json() if alerting else {},
    }


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>yamori — {host}</title><meta http-equiv="refresh" content="15">
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:left}}
.OK{{color:#2a7}}.WARNING{{color:#c80}}.CRITICAL{{color:#d22;font-weight:bold}}.UNKNOWN{{color:#888}}
.banner{{background:#fdd;border:2px solid #d22;padding:1em;font-weight:bold}}</style></head><body>
<h1>yamori — {host}</h1>{banner}
<h2>Alerts</h2>{alerts}
<h2>Probes</h2><table><tr><th>probe</th><th>state</th><th>reason</th></tr>{probes}</table>
<p>Watching continuously: {services}</p>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p></body></html>"""


def status_page(data: dict[str, Any]) -> str:
    esc = html.escape
    delivery = data["delivery"]
    banner = ""
    if delivery and not delivery.get("configured", False):
        banner = ('<p class="banner">No notifier is configured: alerts will not reach anyone. '
                  "Set [alerts.email] or [alerts.webhook] in yamori.toml.</p>")
    elif delivery and delivery.get("last_error"):
        banner = f'<p class="banner">Alert delivery is failing: {esc(str(delivery["last_error"]))}</p>'
    probes = "".join(
        f'<tr><td>{esc(p["name"])}</td><td class="{esc(p["state"])}">{esc(p["state"])}</td>'
        f'<td>{esc(p["reason"])}</td></tr>'
        for p in data["probes"]
    )
    alerts = "".join(
        f'<li class="{esc(str(a.get("state")))}">{esc(str(a.get("state")))} {esc(str(a.get("rule")))} '
        f'{esc(str(a.get("subject")))}: {esc(str(a.get("message", "")))}</li>'
        for a in data["alerts"]
    )
    services = ", ".join(esc(name) for name in data.get("services", [])) or "nothing"
    return _PAGE.format(host=esc(data["host"]), banner=banner, services=services,
                        alerts=f"<ul>{alerts}</ul>" if alerts else "<p>none</p>", probes=probes)
