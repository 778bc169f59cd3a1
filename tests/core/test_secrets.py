"""Secrets stay secret: config show, notifier status and the alert database redact them; the
state directory is private and its files are replaced atomically."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner
from tests.support.agentconf import QUIET

from yamori.alerts.engine import Alerting
from yamori.alerts.outbox import Outbox
from yamori.cli import cli
from yamori.config.alerts import AlertsSettings
from yamori.guard.bans import BanStore
from yamori.probe import ProbeResult
from yamori.records import Finding, Severity, State
from yamori.redact import mask_passwords, redact_config, redact_dsn, redact_url, scrub
from yamori.statefiles import ensure_dir, write_atomic
from yamori.store.sqlite import SqliteStore

HOOK_SECRET = "T0AAAA/B0BBBB/XyZsecretPath"


def test_redaction_shapes() -> None:
    assert redact_dsn("host=db1 user=app password=s3cret dbname=x") == "host=db1 user=app password=*** dbname=x"
    assert redact_dsn("host=db1 password = 'it\\'s secret' port=5") == "host=db1 password = *** port=5"
    assert redact_dsn("postgresql://app:s3cret@db1:5432/x?sslmode=require&password=p2") == \
        "postgresql://app:***@db1:5432/x?sslmode=require&password=***"
    assert redact_url(f"https://hooks.example.org/services/{HOOK_SECRET}") == "https://hooks.example.org/…"
    assert redact_url("https://user:pw@hooks.example.org:8443/x?token=1") == "https://hooks.example.org:8443/…"
    assert redact_url("not a url") == "***"
    text = f"webhook https://hooks.example.org/{HOOK_SECRET} failed; dsn host=x password=hunter2"
    assert HOOK_SECRET not in scrub(text) and "hunter2" not in scrub(text)
    assert mask_passwords("see https://www.postgresql.org/docs/15/x.html") == \
        "see https://www.postgresql.org/docs/15/x.html"
    assert redact_config({"webhook": {"url": "", "headers": {}}}) == {"webhook": {"url": "", "headers": {}}}


SECRET_CONFIG = f"""
[store]
backend = "postgres"
dsn = "host=127.0.0.1 user=yamori password=store-pw-1"
[[postgres.servers]]
name = "db1"
dsn = "postgresql://yamori:server-pw-2@127.0.0.1:5432/postgres"
[postgres.dns]
server = "192.0.2.53"
zone = "example.org"
record = "db"
key_name = "k"
key_secret = "dHNpZy1zZWNyZXQtMw=="
key_secret_env = "TSIG_ENV"
[alerts.webhook]
url = "https://hooks.example.org/services/{HOOK_SECRET}"
headers = {{ Authorization = "Bearer header-secret-4" }}
"""
SECRETS = ["store-pw-1", "server-pw-2", "dHNpZy1zZWNyZXQtMw==", HOOK_SECRET, "header-secret-4"]


def test_config_show_redacts_every_secret_and_reveals_only_to_a_terminal(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "yamori.toml"
    cfg.write_text(textwrap.dedent(SECRET_CONFIG))
    shown = CliRunner().invoke(cli, ["-c", str(cfg), "config", "show"])
    assert shown.exit_code == 0, shown.output
    for secret in SECRETS:
        assert secret not in shown.output
    data = json.loads(shown.output)
    assert data["store"]["dsn"] == "host=127.0.0.1 user=yamori password=***"
    assert data["postgres"]["servers"][0]["dsn"] == "postgresql://yamori:***@127.0.0.1:5432/postgres"
    assert data["postgres"]["dns"]["key_secret"] == "***" and data["postgres"]["dns"]["key_secret_env"] == "TSIG_ENV"
    assert data["alerts"]["webhook"] == {**data["alerts"]["webhook"], "url": "https://hooks.example.org/…",
                                         "headers": {"Authorization": "***"}}

    piped = CliRunner().invoke(cli, ["-c", str(cfg), "config", "show", "--reveal"])
    assert piped.exit_code == 2 and "only to a terminal" in piped.output
    assert all(secret not in piped.output for secret in SECRETS)
    monkeypatch.setattr("yamori.cli.config._stdout_is_terminal", lambda: True)
    revealed = CliRunner().invoke(cli, ["-c", str(cfg), "config", "show", "--reveal"])
    assert revealed.exit_code == 0 and all(secret in revealed.output for secret in SECRETS)


@pytest.fixture
async def failing_hook() -> AsyncIterator[str]:
    async def hook(request: web.Request) -> web.Response:
        return web.Response(status=503, text=f"down, see {request.url}")  # echoes the secret path back

    app = web.Application()
    app.router.add_post(f"/services/{HOOK_SECRET}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/services/{HOOK_SECRET}"
    await runner.cleanup()


async def test_a_failing_webhook_never_puts_its_url_in_status_or_the_alert_database(
        failing_hook: str, tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    settings = AlertsSettings.model_validate({"webhook": {"url": failing_hook}, "failing_after": 1,
                                              "retry_first": 1})
    engine = Alerting(settings, tmp_path, "db1", clock=lambda: now[0])
    engine.observe(ProbeResult("hwmon", State.CRITICAL, "", [], [
        Finding("hwmon.fan_stopped", Severity.CRITICAL, "fan2", "fan2 stopped (dsn password=leaked-5)", "")]))
    for _ in range(3):
        await engine.deliver_pending()
        now[0] += 3600
    status = json.dumps(engine.delivery_status().as_json())  # what /healthz and the status page show
    assert "503" in status and "127.0.0.1" in status and HOOK_SECRET not in status
    alerts = json.dumps([a.as_json() for a in engine.active()])
    assert "notify.failing" in alerts and HOOK_SECRET not in alerts
    engine.close()
    for path in tmp_path.iterdir():  # the database, its WAL: no secret anywhere on disk
        data = path.read_bytes()
        assert HOOK_SECRET.encode() not in data and b"leaked-5" not in data, path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_state_dir_is_private_and_files_are_replaced_atomically(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask: modes must not depend on it
    try:
        state = ensure_dir(tmp_path / "var" / "state")
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        target = state / "positions.json"
        write_atomic(target, "one")
        write_atomic(target, "two")
        assert target.read_text() == "two" and stat.S_IMODE(target.stat().st_mode) == 0o600
        assert [p.name for p in state.iterdir()] == ["positions.json"]  # no temp file left
        BanStore(state).add("192.0.2.7", 1e12, 1)
        store = SqliteStore.open(state)
        store.close()
        outbox = Outbox(state / "alerts.sqlite")
        outbox.close()
        for path in state.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        loose = tmp_path / "loose"
        loose.mkdir(mode=0o777)
        os.chmod(loose, 0o777)
        assert stat.S_IMODE(ensure_dir(loose).stat().st_mode) == 0o700
    finally:
        os.umask(old)


async def test_healthz_and_the_status_page_show_the_webhook_host_only(tmp_path: Path) -> None:
    import asyncio

    import aiohttp

    from yamori.agent import Agent
    from yamori.config import parse_config

    settings = parse_config(textwrap.dedent(f"""\
        [agent]
        listen = "127.0.0.1:0"
        state_dir = "{tmp_path / 'var'}"
        {QUIET}
        [guard]
        enabled = false
        [alerts.webhook]
        url = "http://127.0.0.1:9/services/{HOOK_SECRET}"
        headers = {{ Authorization = "Bearer header-secret-4" }}
        """))
    agent = Agent(settings)
    task = asyncio.create_task(agent.run(install_signals=False))
    try:
        await asyncio.wait_for(agent.ready.wait(), 30)
        host, port = agent.state.listen  # type: ignore[misc]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://{host}:{port}/healthz") as response:
                health = await response.text()
            async with http.get(f"http://{host}:{port}/") as response:
                page = await response.text()
        assert "http://127.0.0.1:9/…" in page  # the overview names the notifier by its host
        assert "127.0.0.1" not in health  # /healthz: states only, no addresses (issue 11)
        for shown in (health, page):
            assert HOOK_SECRET not in shown and "/services/" not in shown and "header-secret-4" not in shown
    finally:
        agent.stop()
        await asyncio.wait_for(task, 30)
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
