"""Unban from the dashboard: the address leaves yamori's real nftables set (inside a network
namespace the test creates) and the saved bans; without the CSRF token nothing changes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from tests.support.agentconf import QUIET
from tests.support.netns import can_use_netns, netns

from yamori.agent import Agent
from yamori.config import parse_config
from yamori.guard import nft
from yamori.guard.bans import BanStore

ADDRESS = "198.51.100.7"


@pytest.fixture
def ns() -> Iterator[str]:
    reason = can_use_netns()
    if reason:
        pytest.skip(reason)
    with netns("ywb") as name:
        yield name


async def test_unban_from_the_guard_page(tmp_path: Path, ns: str) -> None:
    command = ["ip", "netns", "exec", ns, "nft"]
    nft.apply(nft.plan_setup("yamori", 1024), command)
    nft.apply(nft.plan_ban("yamori", ADDRESS, 3600, "test ban"), command)
    BanStore(tmp_path / "var").add(ADDRESS, time.time() + 3600, 1)
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    settings = parse_config(f"""
[agent]
listen = "127.0.0.1:0"
state_dir = "{tmp_path / 'var'}"
proc = "{tmp_path / 'proc'}"
sys = "{tmp_path / 'sys'}"
{QUIET}
[guard]
enabled = false
nft = {command!r}
""".replace("'", '"'))
    agent = Agent(settings)
    task = asyncio.create_task(agent.run(install_signals=False))
    try:
        async with asyncio.timeout(20):
            await agent.ready.wait()
        host, port = agent.state.listen  # type: ignore[misc]
        base = f"http://{host}:{port}"
        # unsafe=True: keep cookies set by an address (aiohttp's jar drops them otherwise)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/guard") as response:
                page = await response.text()
            assert ADDRESS in page and 'action="/api/guard/unban' in page
            csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            async with http.post(f"{base}/api/guard/unban", data={"address": ADDRESS}) as response:
                assert response.status == 403
            assert [b.address for b in nft.list_bans("yamori", command)] == [ADDRESS], "nothing was done"
            async with http.post(f"{base}/api/guard/unban", data={"address": "not an address", "csrf": csrf},
                                 allow_redirects=False) as response:
                assert response.status == 400
            async with http.post(f"{base}/api/guard/unban?back=/guard", data={"address": ADDRESS, "csrf": csrf},
                                 allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/guard"
            async with http.get(f"{base}/api/guard") as response:
                assert (await response.json())["bans"] == []
        assert nft.list_bans("yamori", command) == []
        assert ADDRESS not in BanStore(tmp_path / "var").active()
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
