"""A real `yamori run` for the dashboard tests: its own state dir, a store holding days of
samples written through the store's API, a guard log, a RAID fixture and an audited file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yamori.config import parse_config
from yamori.records import Sample
from yamori.store.sqlite import SqliteStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "web"
YAMORI = [sys.executable, "-m", "yamori.cli.__main__"]
HOSTILE_USER = "<img src=x onerror=alert(1)>"
HOST = "webtest"


def log_stamp(when: float | None = None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S.000 UTC", time.gmtime(when or time.time()))


def write_config(root: Path, extra: str = "", listen: str = "127.0.0.1:0") -> Path:
    (root / "proc").mkdir(exist_ok=True)
    (root / "sys").mkdir(exist_ok=True)
    (root / "proc" / "mdstat").write_bytes((FIXTURES / "mdstat-recovering.txt").read_bytes())
    (root / "pg_hba.conf").write_text("# TYPE DATABASE USER ADDRESS METHOD\n"
                                      "host all all 0.0.0.0/0 trust\n")
    log = root / "postgresql-Sun.log"
    if not log.exists():
        log.write_text(f"{log_stamp()} [100] LOG:  database system is ready to accept connections\n")
    config = root / "yamori.toml"
    config.write_text(f"""
[agent]
listen = "{listen}"
state_dir = "{root / 'var'}"
proc = "{root / 'proc'}"
sys = "{root / 'sys'}"
hostname = "{HOST}"

[probes.hwmon]
enabled = false
[probes.conntrack]
enabled = false

[audit]
paths = ["{root / 'pg_hba.conf'}"]

[guard]
logs = ["{root}/postgresql-*.log"]
log_line_prefix = "%m [%p] %q%u@%d "
ban = false

[[inventory.networks]]
name = "admin"
cidr = "203.0.113.0/28"
role = "admin"
{extra}
""")
    return config


def seed_store(root: Path, config: Path, days: int = 8) -> None:
    """Days of 5-minute samples for a few series, through write_samples() + maintain()."""
    settings = parse_config(config.read_text())
    now = time.time()
    start = now - days * 86400
    clock = [start]
    (root / "var").mkdir(exist_ok=True)
    store = SqliteStore.open(settings.agent.state_dir, settings.store.retention, clock=lambda: clock[0])
    try:
        t = start
        while t < now - 600:
            hour_end = min(t + 3600, now - 600)
            batch = []
            while t < hour_end:
                phase = (t % 86400) / 86400
                batch += [Sample("cpu_percent", 20 + 15 * phase, {"host": HOST}, "percent", t),
                          Sample("disk_used_percent", 60 + days * phase, {"host": HOST, "mount": "/"}, "percent", t),
                          Sample("postgres.replication.replay_lag_seconds", 0.2 + phase, {"host": HOST,
                                                                                           "server": "db2"},
                                 "seconds", t)]
                t += 300
            store.write_samples(batch)
            clock[0] = t
            store.maintain(t)
    finally:
        store.close()


class Agent:
    def __init__(self, proc: subprocess.Popen[str], url: str, root: Path) -> None:
        self.proc = proc
        self.url = url
        self.root = root

    def append_log(self, line: str) -> None:
        with (self.root / "postgresql-Sun.log").open("a") as f:
            f.write(line + "\n")


def wait_listen(proc: subprocess.Popen[str], timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "status page http" in line:
            return line.split("status page ")[1].split()[0]
        if time.monotonic() > deadline:
            break
    raise AssertionError("agent did not report its listener:\n" + "".join(lines[-20:]))


@contextmanager
def running_agent(root: Path, extra: str = "", listen: str = "127.0.0.1:0", seed: bool = True) -> Iterator[Agent]:
    config = write_config(root, extra, listen)
    if seed:
        seed_store(root, config)
    proc = subprocess.Popen([*YAMORI, "--config", str(config), "run"], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        url = wait_listen(proc)
        # keep reading stderr so the agent never blocks on a full pipe
        import threading

        threading.Thread(target=lambda: [None for _ in proc.stderr or []], daemon=True).start()
        yield Agent(proc, url, root)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
