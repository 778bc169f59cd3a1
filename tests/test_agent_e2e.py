"""End to end: the agent on a fixture /proc root; mdstat goes from healthy to failed; the
alert mail arrives through a real SMTP server (aiosmtpd), and /metrics and /healthz tell."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.handlers import Message
from aiosmtpd.smtp import SMTP
from tests.support.agentconf import QUIET

from yamori.agent import Agent
from yamori.config import parse_config


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []
        self.arrived = asyncio.Event()

    def handle_message(self, message: object) -> None:
        self.messages.append(message)
        self.arrived.set()


@pytest.fixture
async def smtp_server():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="smtp.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield inbox, port
    server.close()
    await server.wait_closed()


def agent_config(tmp_path: Path, smtp_port: int) -> str:
    return f"""
[agent]
listen = "127.0.0.1:0"
state_dir = "{tmp_path / 'var'}"
proc = "{tmp_path / 'proc'}"
sys = "{tmp_path / 'sys'}"
hostname = "testhost"

{QUIET}
[guard]
enabled = false
[environment.smart]
enabled = false
[environment.lifecycle]
enabled = false

[alerts.email]
host = "127.0.0.1"
port = {smtp_port}
sender = "yamori@example.org"
to = ["ops@example.org"]
"""


def swap(target: Path, source: Path) -> None:
    """Replace a file the way the kernel's view changes: atomically."""
    temp = target.with_suffix(".new")
    shutil.copyfile(source, temp)
    os.replace(temp, target)


async def test_degraded_array_mails_operator(tmp_path: Path, incidents: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp_server
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    mdstat = tmp_path / "proc" / "mdstat"
    shutil.copyfile(incidents / "mdstat-0-healthy.txt", mdstat)
    settings = parse_config(agent_config(tmp_path, port))
    agent = Agent(settings)
    task = asyncio.create_task(agent.run(install_signals=False))
    try:
        async with asyncio.timeout(20):
            await agent.ready.wait()
            while "raid" not in agent.state.results:
                await asyncio.sleep(0.05)
        assert agent.state.results["raid"].state.label == "OK"
        assert not inbox.messages, "a healthy array must not mail anyone"

        started = time.monotonic()
        swap(mdstat, incidents / "mdstat-1-member-failed.txt")
        async with asyncio.timeout(10):
            await inbox.arrived.wait()
        latency = time.monotonic() - started
        assert latency < 5.0

        mail = inbox.messages[0]
        subject = str(mail["Subject"])  # type: ignore[index]
        body = mail.get_payload(decode=True).decode()  # type: ignore[attr-defined]
        assert "CRITICAL" in subject and "md" in subject
        assert "sdf" in body, "the mail names the failed member"
        assert "serial" in body.lower() or "by-id" in body, "the mail says how to find the disk"

        host, listen_port = agent.state.listen  # type: ignore[misc]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://{host}:{listen_port}/metrics") as response:
                metrics = await response.text()
            async with http.get(f"http://{host}:{listen_port}/healthz") as response:
                health = await response.json()
        assert 'yamori_raid_health_percent{array="md1"} 50.0' in metrics
        assert 'yamori_probe_state{probe="raid"} 2.0' in metrics
        assert health["state"] == "CRITICAL"
        assert health["alerts"].get("CRITICAL", 0) >= 1   # /healthz counts alerts, names nothing
    finally:
        agent.stop()
        await asyncio.wait_for(task, 10)
    # the history is on disk
    assert (tmp_path / "var" / "yamori.sqlite").exists()


async def test_auth_failure_from_an_unexpected_lan_mails_at_once(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Incident 1 through the whole agent: PostgreSQL logs a failure from a private address
    that is none of the operator's networks; the guard (woken by inotify) classifies it and the
    operator gets a CRITICAL mail naming the range and what was tried."""
    inbox, port = smtp_server
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    log = tmp_path / "postgresql-Wed.log"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S.000 UTC", time.gmtime())
    log.write_text(f"{stamp} [100] LOG:  database system is ready to accept connections\n")
    config = agent_config(tmp_path, port).replace("[guard]\nenabled = false\n", f"""
[guard]
logs = ["{tmp_path}/postgresql-*.log"]
log_line_prefix = "%m [%p] %q%u@%d "
[[inventory.networks]]
name = "admin"
cidr = "203.0.113.0/28"
role = "admin"
""")
    agent = Agent(parse_config(config))
    task = asyncio.create_task(agent.run(install_signals=False))
    try:
        async with asyncio.timeout(20):
            await agent.ready.wait()
            while "guard" not in agent.state.services:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)   # the guard has read the existing file
        started = time.monotonic()
        with log.open("a") as f:
            f.write(f'{stamp} [4242] postgres@postgres FATAL:  no pg_hba.conf entry for host "172.22.182.49", '
                    'user "postgres", database "postgres", no encryption\n')
        async with asyncio.timeout(10):
            await inbox.arrived.wait()
        assert time.monotonic() - started < 5
        mail = inbox.messages[0]
        subject = str(mail["Subject"])  # type: ignore[index]
        body = mail.get_payload(decode=True).decode()  # type: ignore[attr-defined]
        assert "CRITICAL" in subject and "172.22.182.49" in subject
        assert "172.16" in body, "the mail names the private range the source is in"
    finally:
        agent.stop()
        await asyncio.wait_for(task, 10)
