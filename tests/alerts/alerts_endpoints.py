"""Real notifier endpoints for the alert tests: an aiosmtpd server that can be stopped and
started again on the same 127.0.0.1 port (to play "the mail server is down")."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes, policy
from email.message import Message

from aiosmtpd.smtp import SMTP


class Inbox:
    """aiosmtpd handler that keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.helos: list[str] = []       # the EHLO/HELO name each message came with
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[attr-defined]
        self.helos.append(str(getattr(session, "host_name", "")))
        self.arrived.set()
        return "250 OK"

    async def wait(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()


class SmtpServer:
    """Start and stop a real SMTP server on a fixed port, to play 'the mail server is down'."""

    def __init__(self, inbox: Inbox, **smtp_options: object) -> None:
        self.inbox = inbox
        self.options = {"hostname": "smtp.test", **smtp_options}    # aiosmtpd's default is socket.getfqdn()
        self.port = _free_port()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self.inbox, **self.options), "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
