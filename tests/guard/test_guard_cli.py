"""`yamori guard scan|watch|bans|unban` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from tests.support.netns import netns, ns_run

from yamori.cli import cli

KEYS = ["time", "source", "user", "database", "kind", "encryption", "role_exists", "lang", "trusted",
        "source_network"]   # (issue 9: additive)


def test_scan_json_contract(corpora: Path, incidents: Path) -> None:
    gen = corpora / "pg-auth-log" / "generated-pg15"
    result = CliRunner().invoke(cli, ["guard", "scan", "--json", str(gen / "ja.log"),
                                      str(incidents / "pg-auth-failure-from-lan.log")])
    assert result.exit_code == 1, result.output      # failures found
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    events, summary = rows[:-1], rows[-1]["summary"]
    assert all(list(e) == KEYS for e in events)
    # the record whose user name carries a newline and a forged record is read whole (issue 9):
    # attributed through its backend's connection line, trusted, reported once
    assert len(events) == 16 and summary["failures"] == 16 and summary["untrusted"] == 0
    assert events[-1] == {"time": None, "source": "172.22.182.49", "user": "postgres", "database": "postgres",
                          "kind": "no_hba_entry", "encryption": "no encryption", "role_exists": None, "lang": "en",
                          "trusted": True, "source_network": None}
    assert events[6]["database"] is None and events[6]["lang"] == "ja"
    assert summary["by_lang"] == {"ja": 15, "en": 1}
    injected = [e for e in events if e["user"] and "\n" in e["user"]]
    assert [(e["source"], e["trusted"], e["kind"]) for e in injected] == [("127.0.0.1", True, "password_failed")]
    assert "suspected log injection" not in result.stderr


def test_scan_options_and_errors(tmp_path: Path, incidents: Path) -> None:
    runner = CliRunner()
    bare = runner.invoke(cli, ["guard", "scan", "--log-line-prefix", "", "--json",
                               str(incidents / "pg-auth-failure-from-lan.log")])
    assert json.loads(bare.stdout.splitlines()[0])["source"] == "172.22.182.49"
    bad = tmp_path / "bad.json"
    bad.write_text('{"message": "x"}\n{"state_code":"28000", broken\n')
    result = runner.invoke(cli, ["guard", "scan", "--log-format", "jsonlog", str(bad), str(tmp_path / "nope.log")])
    assert result.exit_code == 2
    assert f"{bad}:2: not a JSON object" in result.stderr
    assert "nope.log: cannot read" in result.stderr
    assert "Traceback" not in result.output
    prefix = runner.invoke(cli, ["guard", "scan", "--log-line-prefix", "%Z ", str(incidents / "x.log")])
    assert prefix.exit_code == 2 and "unknown escape %Z" in prefix.stderr


def test_watch_prints_events_as_they_are_written(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    log.write_text("")
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path / "state"}"\n[guard]\nlogs = ["{log}"]\n'
                      f'log_line_prefix = "%m [%p] %q%u@%d "\n')
    proc = subprocess.Popen([sys.executable, "-m", "yamori.cli", "-c", str(config), "guard", "watch", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        time.sleep(1.5)
        now = time.strftime("%Y-%m-%d %H:%M:%S.000 UTC", time.gmtime())
        with open(log, "a") as f:
            f.write(f'{now} [77] u@d FATAL:  no pg_hba.conf entry for host "203.0.113.8", user "u", '
                    f'database "d", no encryption\n')
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line)["source"] == "203.0.113.8"
    finally:
        proc.kill()   # by its PID
        proc.wait(timeout=10)


def test_bans_and_unban(tmp_path: Path) -> None:
    from yamori.guard import nft

    with netns("ymrban") as ns:
        argv = ["ip", "netns", "exec", ns, "nft"]
        config = tmp_path / "yamori.toml"
        config.write_text(f'[agent]\nstate_dir = "{tmp_path}"\n[guard]\nnft = {json.dumps(argv)}\n')
        runner = CliRunner()
        assert runner.invoke(cli, ["-c", str(config), "guard", "bans"]).stdout.strip() == "no address is banned"
        nft.apply(nft.plan_setup("yamori", 100) + nft.plan_ban("yamori", "2001:db8::7", 600, "test"), argv)
        listed = json.loads(runner.invoke(cli, ["-c", str(config), "guard", "bans", "--json"]).stdout)
        assert [(b["address"], b["timeout"]) for b in listed] == [("2001:db8::7", 600)]
        out = runner.invoke(cli, ["-c", str(config), "guard", "unban", "2001:db8::7"])
        assert out.exit_code == 0 and "unbanned 2001:db8::7" in out.stdout
        assert "elements" not in ns_run(ns, "nft", "list", "set", "inet", "yamori", "banned6").stdout
        bad = runner.invoke(cli, ["-c", str(config), "guard", "unban", "evil.example"])
        assert bad.exit_code == 2 and "does not appear to be an IPv4 or IPv6 address" in bad.stderr


def test_watch_stops_on_sigterm_with_positions_saved_and_rereads_config_on_sighup(tmp_path: Path) -> None:
    import signal

    log = tmp_path / "postgresql.log"
    log.write_text("")
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path / "state"}"\n[guard]\nlogs = ["{log}"]\n'
                      f'log_line_prefix = "%m [%p] %q%u@%d "\n')
    proc = subprocess.Popen([sys.executable, "-m", "yamori.cli", "-c", str(config), "guard", "watch", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stderr is not None
        time.sleep(1.5)
        now = time.strftime("%Y-%m-%d %H:%M:%S.000 UTC", time.gmtime())
        line = (f'{now} [77] u@d FATAL:  no pg_hba.conf entry for host "203.0.113.8", user "u", '
                f'database "d", no encryption\n')
        with open(log, "a") as f:
            f.write(line)
        assert json.loads(proc.stdout.readline())["source"] == "203.0.113.8"
        proc.send_signal(signal.SIGHUP)               # re-read the config, resume where it was
        assert "config re-read" in proc.stderr.readline()
        with open(log, "a") as f:
            f.write(line.replace("[77]", "[78]").replace("203.0.113.8", "203.0.113.9"))
        assert json.loads(proc.stdout.readline())["source"] == "203.0.113.9"   # once: no repeat of [77]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        positions = json.loads((tmp_path / "state" / "guard-positions.json").read_text())
        assert [p["offset"] for k, p in positions.items() if k != "history"] == [log.stat().st_size]
    finally:
        if proc.poll() is None:
            proc.kill()   # by its PID
            proc.wait(timeout=10)
