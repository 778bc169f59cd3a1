"""Two agents ([agent] hostname db1 and db2) writing one PostgreSQL store: either's
dashboard shows both hosts, and a graph shows one host's series when asked for it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from tests.support.agentconf import QUIET
from tests.support.pgcluster import Cluster, running_cluster

from yamori.agent import Agent
from yamori.config import parse_config

from .agentproc import FIXTURES


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="yamori-web-pg-"))
    base.chmod(0o755)  # the cluster runs as postgres
    try:
        with running_cluster(base) as running:
            yield running
    finally:
        shutil.rmtree(base, ignore_errors=True)


def config(root: Path, host: str, dsn: str) -> str:
    (root / "proc").mkdir(parents=True)
    (root / "sys").mkdir()
    (root / "proc" / "mdstat").write_bytes((FIXTURES / "mdstat-recovering.txt").read_bytes())
    return f"""
[agent]
listen = "127.0.0.1:0"
state_dir = "{root / 'var'}"
proc = "{root / 'proc'}"
sys = "{root / 'sys'}"
hostname = "{host}"
[store]
backend = "postgres"
dsn = "{dsn}"
{QUIET}
[guard]
enabled = false
"""


async def test_two_hosts_one_store_one_dashboard(tmp_path: Path, cluster: Cluster) -> None:
    agents = [Agent(parse_config(config(tmp_path / h, h, cluster.dsn))) for h in ("db1", "db2")]
    tasks = [asyncio.create_task(a.run(install_signals=False)) for a in agents]
    try:
        async with asyncio.timeout(30):
            for a in agents:
                await a.ready.wait()
                while "raid" not in a.state.results:
                    await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)   # the store writer has caught up
        host, port = agents[0].state.listen  # type: ignore[misc]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://{host}:{port}/api/graphs") as response:
                catalog = await response.json()
            async with http.get(f"http://{host}:{port}/api/series",
                                params={"metric": "raid_health_percent", "host": "db2", "range": "day"}) as response:
                series = await response.json()
            async with http.get(f"http://{host}:{port}/api/overview") as response:
                overview = await response.json()
        assert catalog["hosts"] == ["db1", "db2"]
        assert {s["labels"]["host"] for s in series["series"]} == {"db2"}
        assert {s["labels"]["array"] for s in series["series"]} == {"md0", "md2"}
        assert [(h["host"], h["this"]) for h in overview["hosts"]] == [("db1", True), ("db2", False)]
    finally:
        for a in agents:
            a.stop()
        for t in tasks:
            await asyncio.wait_for(t, 15)
