"""`yamori net diagnose` on loopback: the table, the JSON contract, exit codes, config errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner

from yamori.cli import cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "yamori.toml"
    path.write_text(text)
    return path


LOOPBACK = """
[[inventory.hosts]]
name = "lo"
addresses = ["127.0.0.1"]
role = "router"
[[inventory.services]]
name = "listener"
host = "lo"
port = {port}
[[network.paths]]
name = "loop"
hops = ["lo"]
targets = ["tcp://127.0.0.1:{port}"]
timeout = "1s"
"""


def test_json_contract_and_exit_code_on_a_healthy_loopback_path(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        port = server.getsockname()[1]
        config = write(tmp_path, LOOPBACK.format(port=port))
        result = CliRunner().invoke(cli, ["-c", str(config), "net", "diagnose", "--count", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"paths", "findings"} and data["findings"] == []
    path = data["paths"][0]
    assert path["name"] == "loop"
    hop = path["hops"][0]
    assert hop["name"] == "lo" and hop["address"] == "127.0.0.1"
    assert set(hop["icmp"]) == {"sent", "received", "loss_percent", "rtt_ms"}
    assert hop["icmp"]["sent"] == 5 and hop["icmp"]["received"] == 5
    assert set(hop["icmp"]["rtt_ms"]) == {"min", "avg", "max", "mdev"}
    assert hop["tcp"][0]["port"] == port and hop["tcp"][0]["ok"] is True and hop["tcp"][0]["error"] is None
    assert isinstance(hop["tcp"][0]["connect_ms"], float)
    target = path["targets"][0]
    assert {"url", "ok", "status", "latency_ms", "error", "tls_days_left"} <= set(target)
    assert target["ok"] is True and target["status"] is None and target["tls_days_left"] is None
    assert path["verdict"] == {"state": "OK", "first_bad_hop": None, "kind": None,
                               "message": path["verdict"]["message"], "advice": ""}


def test_table_and_critical_exit_when_the_service_is_down(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    config = write(tmp_path, LOOPBACK.format(port=port))   # nothing listens there any more
    result = CliRunner().invoke(cli, ["-c", str(config), "net", "diagnose", "--count", "3"])
    assert result.exit_code == 2, result.output
    assert "path loop" in result.output and "CRITICAL" in result.output
    assert "ping works but" in result.output and "refused" in result.output


def test_unknown_hop_and_unknown_path_are_usage_errors(tmp_path: Path) -> None:
    config = write(tmp_path, '[[network.paths]]\nname = "x"\nhops = ["nowhere"]\n')
    result = CliRunner().invoke(cli, ["-c", str(config), "net", "diagnose"])
    assert result.exit_code == 2
    assert "network.paths[0].hops[0]: 'nowhere' is not an [[inventory.hosts]] name" in result.output
    config = write(tmp_path, LOOPBACK.format(port=1))
    result = CliRunner().invoke(cli, ["-c", str(config), "net", "diagnose", "elsewhere"])
    assert result.exit_code == 2 and "no [[network.paths]] named 'elsewhere'" in result.output
    assert "Traceback" not in result.output


def test_bad_targets_and_rates_are_located_config_errors(tmp_path: Path) -> None:
    config = write(tmp_path, '[[network.paths]]\nname = "x"\ntargets = ["ftp://example.org/"]\n'
                             '[[network.links]]\ninterface = "eth0"\ncapacity = "fast"\n')
    result = CliRunner().invoke(cli, ["-c", str(config), "net", "diagnose"])
    assert result.exit_code == 2
    assert "network.paths[0].targets" in result.output and "expected http://, https:// or tcp://" in result.output
    assert "network.links[0].capacity" in result.output and "expected a rate" in result.output
