"""A real SMTP server (aiosmtpd) that prints every message it accepts to stdout, for tests that
run it as its own process (inside a network namespace, say):

    python -m support.smtpsink HOST PORT

It names itself in its greeting (`HOSTNAME`): aiosmtpd's default is socket.getfqdn(), a
reverse lookup that waits for DNS timeouts where no resolver is reachable (a namespace, a fresh
machine without its name in /etc/hosts), long enough for the client to give up."""

from __future__ import annotations

import asyncio
import sys

from aiosmtpd.handlers import Debugging
from aiosmtpd.smtp import SMTP

HOSTNAME = "smtp.test"


async def serve(host: str, port: int) -> None:
    sys.stdout.reconfigure(line_buffering=True)   # type: ignore[union-attr]  # a test reads the file while we run
    handler = Debugging(sys.stdout)
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler, hostname=HOSTNAME), host, port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
