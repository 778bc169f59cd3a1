"""Alert mail through a real SMTP server (aiosmtpd on 127.0.0.1): delivery, the server down
for a while, an agent restart with mail waiting, STARTTLS, SSL and AUTH."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from alerts_endpoints import Inbox, SmtpServer

from yamori.alerts.engine import Alerting
from yamori.config.alerts import AlertsSettings
from yamori.probe import ProbeResult
from yamori.records import Finding, Severity, State

DEGRADED = Finding("raid.degraded", Severity.CRITICAL, "md1", "array md1 is degraded: 1 of 2 members active",
                   "sdf3 is marked failed. Find its serial number: `smartctl -i /dev/sdf`")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def email(port: int, **extra: object) -> AlertsSettings:
    return AlertsSettings.model_validate({"email": {"port": port, "to": ["ops@example.org"], **extra},
                                          "retry_first": "5s", "retry_max": "1m"})


def degraded(*findings: Finding) -> ProbeResult:
    return ProbeResult("raid", State.CRITICAL if findings else State.OK, "", [], list(findings))


async def test_a_degraded_array_mails_what_where_since_and_what_to_do(smtp: SmtpServer, tmp_path: Path) -> None:
    clock = Clock()
    engine = Alerting(email(smtp.port), tmp_path, "db1", clock=clock)
    engine.observe(degraded(DEGRADED))
    assert await engine.deliver_pending() == 1
    [mail] = smtp.inbox.messages
    assert mail["Subject"] == (
        "[yamori] CRITICAL db1 raid.degraded md1: array md1 is degraded: 1 of 2 members active")
    assert mail["To"] == "ops@example.org" and mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_payload(decode=True).decode("utf-8")
    for expected in ("Host:    db1", "Subject: md1", "State:   CRITICAL (was OK)", "Since:", "What to do next:",
                     "smartctl -i /dev/sdf"):
        assert expected in text
    clock.now += 600
    engine.observe(degraded())
    assert await engine.deliver_pending() == 1
    recovery = smtp.inbox.messages[1]
    assert recovery["Subject"].startswith("[yamori] OK db1 raid.degraded md1: recovered (was CRITICAL)")
    assert recovery["Message-ID"] != mail["Message-ID"]
    assert engine.delivery_status().pending == 0
    engine.close()


async def test_smtp_down_for_a_while_then_back_delivers_exactly_once(smtp: SmtpServer, tmp_path: Path) -> None:
    clock = Clock()
    engine = Alerting(email(smtp.port), tmp_path, "db1", clock=clock)
    await smtp.stop()
    engine.observe(degraded(DEGRADED))
    for _ in range(3):  # three failed attempts, each after the backoff
        assert await engine.deliver_pending() == 0
        clock.now += 60
    status = engine.delivery_status()
    assert status.pending == 1 and status.last_error is not None and "refused" in status.last_error.lower()
    assert [(a.rule, a.subject, a.state) for a in engine.active()] == [
        ("raid.degraded", "md1", State.CRITICAL), ("notify.failing", "email", State.WARNING)]
    assert "not being delivered" in (status.warning or "")
    await smtp.start()
    assert await engine.deliver_pending() == 1
    assert await engine.deliver_pending() == 0
    clock.now += 3600
    assert await engine.deliver_pending() == 0
    assert [m["Subject"].split(":")[0] for m in smtp.inbox.messages] == ["[yamori] CRITICAL db1 raid.degraded md1"]
    assert [a.rule for a in engine.active()] == ["raid.degraded"], "notify.failing cleared by the delivery"
    assert engine.delivery_status().last_error is None
    engine.close()


async def test_backoff_waits_before_the_next_attempt(smtp: SmtpServer, tmp_path: Path) -> None:
    clock = Clock()
    engine = Alerting(email(smtp.port), tmp_path, "db1", clock=clock)
    await smtp.stop()
    engine.observe(degraded(DEGRADED))
    assert await engine.deliver_pending() == 0
    await smtp.start()
    clock.now += 4
    assert await engine.deliver_pending() == 0, "the first retry waits retry_first (5 s)"
    assert smtp.inbox.messages == []
    clock.now += 1
    assert await engine.deliver_pending() == 1
    engine.close()


async def test_restart_delivers_waiting_mail_once_and_never_again(smtp: SmtpServer, tmp_path: Path) -> None:
    clock = Clock()
    first = Alerting(email(smtp.port), tmp_path, "db1", clock=clock)
    first.observe(degraded(DEGRADED))
    assert await first.deliver_pending() == 1
    await smtp.stop()
    clock.now += 60
    first.observe(degraded())  # the recovery is queued while the server is down
    assert await first.deliver_pending() == 0
    first.close()  # the agent stops with one mail waiting

    await smtp.start()
    second = Alerting(email(smtp.port), tmp_path, "db1", clock=clock)
    assert await second.deliver_pending() == 1, "waiting mail goes out at once after a restart"
    second.close()
    third = Alerting(email(smtp.port), tmp_path, "db1", clock=clock)
    clock.now += 86400
    assert await third.deliver_pending() == 0
    third.close()
    subjects = [m["Subject"].split(":")[0] for m in smtp.inbox.messages]
    assert subjects == ["[yamori] CRITICAL db1 raid.degraded md1", "[yamori] OK db1 raid.degraded md1"]


async def test_run_loop_wakes_on_enqueue_and_retries_until_the_server_is_back(tmp_path: Path) -> None:
    inbox = Inbox()
    server = SmtpServer(inbox)
    engine = Alerting(AlertsSettings.model_validate({"email": {"port": server.port, "to": ["ops@example.org"]},
                                                     "retry_first": "0.2s", "retry_max": "0.5s"}),
                      tmp_path, "db1")
    loop_task = asyncio.create_task(engine.run())
    try:
        engine.observe(degraded(DEGRADED))  # the server is not listening yet
        await asyncio.sleep(0.5)
        assert inbox.messages == [] and engine.delivery_status().pending == 1
        await server.start()
        await inbox.wait(1, timeout=5)
        await asyncio.sleep(0.6)
        assert len(inbox.messages) == 1
    finally:
        loop_task.cancel()
        await server.stop()
        engine.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_starttls_verifies_the_server_with_the_configured_ca(ca: trustme.CA, tmp_path: Path) -> None:
    inbox = Inbox()
    server = SmtpServer(inbox, tls_context=server_tls(ca), require_starttls=True)
    await server.start()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        trusted = Alerting(email(server.port, security="starttls", ca_file=str(ca_file)), tmp_path / "a", "db1")
        trusted.observe(degraded(DEGRADED))
        assert await trusted.deliver_pending() == 1
        assert len(inbox.messages) == 1
        trusted.close()

        untrusted = Alerting(email(server.port, security="starttls"), tmp_path / "b", "db1")
        untrusted.observe(degraded(DEGRADED))
        assert await untrusted.deliver_pending() == 0
        assert "TLS failed" in (untrusted.delivery_status().last_error or "")
        untrusted.close()
    finally:
        await server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_ssl_with_login(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def check(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (_text(data.login), _text(data.password)) == ("yamori", "s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235 / 535 itself

    inbox = Inbox()
    loop = asyncio.get_running_loop()
    from aiosmtpd.smtp import SMTP

    # auth_require_tls=False: aiosmtpd does not notice TLS it did not start itself (implicit SSL)
    listener = await loop.create_server(
        lambda: SMTP(inbox, authenticator=check, auth_required=True, auth_require_tls=False),
        "127.0.0.1", 0, ssl=server_tls(ca))
    port = listener.sockets[0].getsockname()[1]
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        settings = email(port, security="ssl", ca_file=str(ca_file), username="yamori")
        engine = Alerting(settings, tmp_path / "s", "db1")
        engine.observe(degraded(DEGRADED))
        monkeypatch.setenv("YAMORI_SMTP_PASSWORD", "wrong")
        assert await engine.deliver_pending() == 0
        assert "535" in (engine.delivery_status().last_error or "")
        monkeypatch.setenv("YAMORI_SMTP_PASSWORD", "s3cret")
        engine.clock = lambda: 2e9  # past the backoff
        assert await engine.deliver_pending() == 1
        assert len(inbox.messages) == 1
        engine.close()
    finally:
        listener.close()
        await listener.wait_closed()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_a_report_is_mailed_as_written_and_creates_no_alert(smtp: SmtpServer, tmp_path: Path) -> None:
    engine = Alerting(email(smtp.port), tmp_path, "db1", clock=Clock())
    digest = "PostgreSQL auth failures on 2026-11-25: 12\n\nTop sources:\n  203.0.113.9 (7)\n"
    engine.report("guard", "guard.digest", "2026-11-25", digest)
    assert await engine.deliver_pending() == 1
    [mail] = smtp.inbox.messages
    assert mail["Subject"] == "[yamori] db1 guard.digest 2026-11-25: PostgreSQL auth failures on 2026-11-25: 12"
    text = mail.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
    assert "Top sources:\n  203.0.113.9 (7)" in text
    assert engine.active() == []


async def test_ehlo_needs_no_dns(smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # smtplib's default EHLO name is socket.getfqdn(), a reverse lookup that hangs while DNS is down
    def no_dns(name: str = "") -> str:
        raise AssertionError("socket.getfqdn() called: the alert would wait for DNS")

    monkeypatch.setattr(socket, "getfqdn", no_dns)
    engine = Alerting(email(smtp.port), tmp_path, "db1", clock=Clock())
    engine.observe(degraded(DEGRADED))
    assert await engine.deliver_pending() == 1
    (tmp_path / "b").mkdir()
    named = Alerting(email(smtp.port, helo="mx-out.example.org"), tmp_path / "b", "db1", clock=Clock())
    named.observe(degraded(DEGRADED))
    assert await named.deliver_pending() == 1, named.delivery_status()
    assert smtp.inbox.helos == [socket.gethostname(), "mx-out.example.org"]
