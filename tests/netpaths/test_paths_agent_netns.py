"""The agent in the server namespace runs the path on its interval: history lands in the store,
and when the router's link is cut, one root-cause alert names the router while the PostgreSQL
server behind it (a real cluster in the outside namespace) is held back instead of alerting too."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.support.agentconf import QUIET
from tests.support.netns import can_use_netns, ns_run
from tests.support.pgcluster import Cluster

from .topology import PYTHON, TARGET, network, process

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

YAMORI = str(PYTHON.parent / "yamori")


def config(tmp_path: Path) -> str:
    return f"""
[agent]
listen = "127.0.0.1:0"
state_dir = "{tmp_path / 'var'}"
hostname = "server"
{QUIET}[probes.raid]
enabled = false
[guard]
enabled = false

[[inventory.hosts]]
name = "sw"
addresses = ["192.0.2.1"]
role = "switch"
[[inventory.hosts]]
name = "rt"
addresses = ["192.0.2.18"]
role = "router"
[[inventory.hosts]]
name = "db"
addresses = ["{TARGET}"]
role = "server"

[[network.paths]]
name = "internet"
hops = ["sw", "rt"]
targets = ["http://{TARGET}/", "tcp://{TARGET}:5432"]
interval = "2s"
count = 5
timeout = "1s"

[postgres]
interval = "2s"
connect_timeout = 1
[[postgres.servers]]
name = "db"
dsn = "host={TARGET} port=5432 user=postgres dbname=postgres"
"""


@contextmanager
def cluster_in(ns: str, base: Path) -> Iterator[Cluster]:
    """A real PostgreSQL listening on the target address inside the outside namespace."""
    cluster = Cluster(base, "pg", port=5432).init(extra_conf=f"listen_addresses = '{TARGET}'\n",
                                                  hba="local all all trust\nhost all all 0.0.0.0/0 trust\n")
    subprocess.run(["ip", "netns", "exec", ns, "setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups",
                    str(cluster.bindir / "pg_ctl"), "-D", str(cluster.datadir), "-l", str(cluster.logfile), "-w",
                    "-t", "60", "start"], check=True, capture_output=True, cwd=base, timeout=90)
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        cluster.kill()


def cli(config_file: Path, *args: str) -> tuple[int, Any]:
    result = subprocess.run([YAMORI, "-c", str(config_file), *args, "--json"], capture_output=True, text=True,
                            timeout=30)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_agent_keeps_history_and_folds_alerts_behind_a_cut_router(tmp_path: Path, pg_tmpdir: Path) -> None:
    config_file = tmp_path / "yamori.toml"
    config_file.write_text(config(tmp_path))
    with network() as net, \
            process(net.out, str(PYTHON), str(Path(__file__).with_name("http_target.py")), TARGET, "80",
                    ready="ready"), \
            cluster_in(net.out, pg_tmpdir), \
            process(net.server, YAMORI, "-c", str(config_file), "run") as agent:

        def loss_points() -> int:
            code, data = cli(config_file, "query", "net_loss_percent", "--since", "10m", "--label", "hop=rt")
            return sum(len(s["points"]) for s in data["series"]) if code == 0 and data else 0

        # SmokePing-style history per hop and target after a few rounds
        wait_until(lambda: loss_points() >= 3, 40, "three rounds of history for hop rt")
        code, data = cli(config_file, "query", "net_rtt_median_ms", "--since", "10m")
        labelled = {(s["labels"].get("hop"), s["labels"].get("target")) for s in data["series"]}
        assert {("sw", None), ("rt", None), (None, f"http://{TARGET}/"), (None, f"tcp://{TARGET}:5432")} <= labelled
        code, data = cli(config_file, "query", "net_rtt_spread_ms", "--since", "10m", "--label", "hop=sw")
        assert code == 0 and data["series"]
        code, alerts = cli(config_file, "alerts")
        assert alerts["alerts"] == [], alerts

        ns_run(net.rt, "ip", "link", "set", "rta", "down")

        def active() -> list[dict[str, Any]]:
            return [a for a in cli(config_file, "alerts")[1]["alerts"] if a["state"] != "OK"]

        wait_until(lambda: any(a["rule"] == "net.unreachable" for a in active()), 30, "the root-cause alert")
        time.sleep(5)  # more rounds of both probes while the router is cut
        alerts = active()
        assert [(a["rule"], a["subject"]) for a in alerts] == [("net.unreachable", "internet: sw → rt")], alerts
        assert agent.poll() is None
        # the PostgreSQL server behind the router was found unreachable, and held back
        code, data = cli(config_file, "query", "postgres.up", "--since", "10m")
        assert code == 0 and data["series"][0]["points"][-1][4] == 0.0
    assert os.path.exists(tmp_path / "var")
