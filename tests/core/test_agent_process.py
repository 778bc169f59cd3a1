"""`yamori run` as a real process: serves /healthz, says when no notifier is set, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

YAMORI = [sys.executable, "-m", "yamori.cli.__main__"]


def _wait_listen(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    for line in proc.stderr:
        if "status page http://" in line:
            return line.split("status page ")[1].split()[0]
        if time.monotonic() > deadline:
            break
    raise AssertionError("agent did not report its listener")


def test_run_serves_and_stops_on_sigterm(tmp_path: Path, incidents: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    (tmp_path / "proc" / "mdstat").write_bytes((incidents / "mdstat-0-healthy.txt").read_bytes())
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nlisten = "127.0.0.1:0"\nstate_dir = "{tmp_path / "var"}"\n'
                      f'proc = "{tmp_path / "proc"}"\nsys = "{tmp_path / "sys"}"\n'
                      "[audit]\nenabled = false\n[guard]\nenabled = false\n[probes.system]\nenabled = false\n")
    proc = subprocess.Popen([*YAMORI, "--config", str(config), "run"], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        url = _wait_listen(proc)
        deadline = time.monotonic() + 15
        health: dict[str, object] = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url + "healthz", timeout=5) as response:
                health = json.loads(response.read())
            if health["probes"]:
                break
            time.sleep(0.2)
        assert any(p["name"] == "raid" and p["state"] == "OK" for p in health["probes"])  # type: ignore[union-attr]
        assert "host" not in health and all(set(p) == {"name", "state"} for p in health["probes"])  # type: ignore[union-attr]
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
        assert "No notifier is configured" in page
        with urllib.request.urlopen(url + "metrics", timeout=5) as response:
            assert b'yamori_probe_state{probe="raid"} 0.0' in response.read()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sighup_rereads_the_config_and_keeps_serving(tmp_path: Path, incidents: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    (tmp_path / "proc" / "mdstat").write_bytes((incidents / "mdstat-0-healthy.txt").read_bytes())
    config = tmp_path / "yamori.toml"
    base = (f'[agent]\nlisten = "127.0.0.1:0"\nstate_dir = "{tmp_path / "var"}"\n'
            f'proc = "{tmp_path / "proc"}"\nsys = "{tmp_path / "sys"}"\nhostname = "%s"\n'
            "[audit]\nenabled = false\n[guard]\nenabled = false\n[probes.system]\nenabled = false\n")
    config.write_text(base % "before")
    proc = subprocess.Popen([*YAMORI, "--config", str(config), "run"], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        _wait_listen(proc)
        config.write_text(base % "after")
        proc.send_signal(signal.SIGHUP)
        url = _wait_listen(proc)   # the agent restarts its loop with the new settings
        with urllib.request.urlopen(url + "api/overview", timeout=5) as response:
            assert json.loads(response.read())["host"] == "after"
        config.write_text("[agent]\nlisten = 5\n")   # a broken config is refused, the agent goes on
        proc.send_signal(signal.SIGHUP)
        url = _wait_listen(proc)
        with urllib.request.urlopen(url + "api/overview", timeout=5) as response:
            assert json.loads(response.read())["host"] == "after"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
