"""ICMP mode: unprivileged ICMP sockets where ping_group_range allows the process's group, raw
sockets otherwise; without either, the verdict is UNKNOWN (exit 3) and says what to grant.
Runs yamori as uid/gid 65534 (setpriv), in the host namespace and in a namespace of its own."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.support.netns import can_use_netns, netns, ns_run

from yamori.config import parse_config
from yamori.network.paths.icmp import parse_group_range, unprivileged_allowed
from yamori.network.paths.probe import UnresolvedPath, probes
from yamori.probe import run_probe
from yamori.records import State

from .topology import PYTHON

YAMORI = str(PYTHON.parent / "yamori")
CONFIG = ('[[inventory.hosts]]\nname = "lo"\naddresses = ["127.0.0.1"]\n'
          '[[network.paths]]\nname = "loop"\nhops = ["lo"]\n')
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def diagnose_as_nobody(config: Path, ns: str | None = None) -> tuple[int, dict]:
    prefix = ["ip", "netns", "exec", ns] if ns else []
    result = subprocess.run([*prefix, *NOBODY, YAMORI, "-c", str(config), "net", "diagnose", "--count", "3",
                             "--json"], capture_output=True, text=True, timeout=60)
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def config(pg_tmpdir: Path) -> Path:   # a directory uid 65534 can read
    path = pg_tmpdir / "yamori.toml"
    path.write_text(CONFIG)
    path.chmod(0o644)
    return path


@pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))
def test_unprivileged_icmp_where_ping_group_range_allows(config: Path) -> None:
    with netns("ynpicmp") as ns:
        code, data = diagnose_as_nobody(config, ns)
        assert code == 3 and data["paths"][0]["verdict"]["state"] == "UNKNOWN"
        assert "CAP_NET_RAW" in data["paths"][0]["verdict"]["advice"]
        ns_run(ns, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
        code, data = diagnose_as_nobody(config, ns)
        assert code == 0, data
        assert data["paths"][0]["hops"][0]["icmp"]["received"] == 3


def test_group_range_parsing(tmp_path: Path) -> None:
    assert parse_group_range("1\t0\n") == (1, 0)
    assert parse_group_range("garbage") is None
    (tmp_path / "sys/net/ipv4").mkdir(parents=True)
    (tmp_path / "sys/net/ipv4/ping_group_range").write_text("1\t0\n")
    assert unprivileged_allowed(tmp_path) is False
    (tmp_path / "sys/net/ipv4/ping_group_range").write_text("0\t2147483647\n")
    assert unprivileged_allowed(tmp_path) is True
    assert unprivileged_allowed(tmp_path / "missing") is False


async def test_a_path_naming_an_unknown_host_is_an_unknown_probe_not_a_crash() -> None:
    settings = parse_config('[[network.paths]]\nname = "x"\nhops = ["ghost"]\n')
    [probe] = probes(settings)
    assert isinstance(probe, UnresolvedPath) and probe.name == "net.x"
    result = await run_probe(probe)
    assert result.state is State.UNKNOWN
    assert "network.paths[0].hops[0]: 'ghost' is not an [[inventory.hosts]] name" in result.reason
