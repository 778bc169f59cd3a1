"""Webhook notifications to a real aiohttp receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from yamori.alerts.engine import Alerting
from yamori.config.alerts import AlertsSettings
from yamori.probe import ProbeResult
from yamori.records import Finding, Severity, State

FAN = Finding("hwmon.fan_stopped", Severity.CRITICAL, "nct6775/fan2", "fan2 stopped (0 RPM, was 1180 RPM)",
              "Check the case fan: a stopped fan overheats the server.")


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next = 0

    async def hook(self, request: web.Request) -> web.Response:
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503, text="busy")
        self.bodies.append(await request.json())
        self.headers.append(dict(request.headers))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield rec, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_webhook_posts_the_documented_json(receiver: tuple[Receiver, str], tmp_path: Path) -> None:
    rec, url = receiver
    now = [1_700_000_000.0]
    settings = AlertsSettings.model_validate({"webhook": {"url": url, "headers": {"X-Token": "t"}}})
    engine = Alerting(settings, tmp_path, "db1", clock=lambda: now[0])
    engine.observe(ProbeResult("hwmon", State.CRITICAL, "", [], [FAN]))
    assert await engine.deliver_pending() == 1
    [body] = rec.bodies
    assert {"host", "rule", "subject", "state", "previous", "since", "message", "advice", "time"} <= set(body)
    assert (body["host"], body["rule"], body["subject"], body["state"], body["previous"]) == (
        "db1", "hwmon.fan_stopped", "nct6775/fan2", "CRITICAL", "OK")
    assert body["since"] == "2023-11-14T22:13:20Z" and body["advice"] == FAN.advice
    assert rec.headers[0]["X-Token"] == "t"
    engine.close()


async def test_webhook_error_is_retried_and_surfaced(receiver: tuple[Receiver, str], tmp_path: Path) -> None:
    rec, url = receiver
    rec.fail_next = 1
    now = [1_700_000_000.0]
    engine = Alerting(AlertsSettings.model_validate({"webhook": {"url": url}}), tmp_path, "db1",
                      clock=lambda: now[0])
    engine.observe(ProbeResult("hwmon", State.CRITICAL, "", [], [FAN]))
    assert await engine.deliver_pending() == 0
    assert "HTTP 503 busy" in (engine.delivery_status().last_error or "")
    now[0] += 10
    assert await engine.deliver_pending() == 1
    assert len(rec.bodies) == 1 and engine.delivery_status().last_error is None
    engine.close()
