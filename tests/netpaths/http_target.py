"""A real HTTP server for the path tests (aiohttp.web, keep-alive on): `python http_target.py ADDRESS PORT`.
Answers GET / with a fixed body; prints "ready" once listening."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


async def main(address: str, port: int) -> None:
    async def root(request: web.Request) -> web.Response:
        return web.Response(text="yamori path target: hello\n")

    app = web.Application()
    app.router.add_get("/", root)
    runner = web.AppRunner(app, handle_signals=True, keepalive_timeout=120)
    await runner.setup()
    await web.TCPSite(runner, address, port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
