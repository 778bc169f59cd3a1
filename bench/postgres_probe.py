#!/usr/bin/env python3
"""Cost of one PostgreSQL server probe run (statistics, sessions, replication, slots) against a
real primary + streaming standby on loopback, side by side with the check_postgres actions
(Debian package check-postgres, the classic Nagios plugin) that together cover the same ground.

Also: wall time of `yamori pg status --json` (a fresh process, both servers) and of
`yamori failover plan` (read-only checks of both servers).
Usage: bench/postgres_probe.py [CALLS=50]
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pg.pgsupport import replication_pair, write_config  # noqa: E402

# check_postgres actions that together look at what one yamori server probe run looks at.
PEER_ACTIONS = (("backends",), ("hitratio",), ("database_size", "--warning=10GB"), ("txn_wraparound",),
                ("txn_idle", "--warning=60s", "--critical=300s"), ("query_time", "--warning=300s", "--critical=600s"),
                ("replication_slots", "--warning=1GB"), ("dbstats",))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_children(commands: list[list[str]], rounds: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per round of running every command once, as separate processes."""
    cpu0, wall0 = children_cpu(), time.perf_counter()
    for _ in range(rounds):
        for command in commands:
            subprocess.run(command, capture_output=True, check=False, timeout=60)
    return (children_cpu() - cpu0) / rounds * 1000, (time.perf_counter() - wall0) / rounds * 1000


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    from yamori.config import load_config
    from yamori.postgres.probe import ServerProbe

    base = Path(tempfile.mkdtemp(prefix="yamori-bench-"))
    base.chmod(0o755)
    try:
        with replication_pair(base) as (primary, standby):
            cfg = write_config(base / "yamori.toml", f"""
            [[postgres.servers]]
            name = "db1"
            dsn = "{primary.dsn}"
            [[postgres.servers]]
            name = "db2"
            dsn = "{standby.dsn}"
            """)
            settings = load_config(cfg).postgres
            for entry in settings.servers:
                probe = ServerProbe(entry, settings)
                list(probe.collect())
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for _ in range(calls):
                    records = list(probe.collect())
                cpu = (time.process_time() - cpu0) / calls * 1000
                wall = (time.perf_counter() - wall0) / calls * 1000
                print(f"yamori probe postgres.{entry.name}: {cpu:6.2f} ms CPU, {wall:6.2f} ms wall per run "
                      f"({len(records)} records, {calls} runs, one new connection each)")
            yamori = [str(REPO / ".venv/bin/yamori"), "-c", str(cfg)]
            _, wall = timed_children([[*yamori, "pg", "status", "--json"]], 5)
            print(f"`yamori pg status --json` (new process, 2 servers): {wall:6.0f} ms wall")
            _, wall = timed_children([[*yamori, "failover", "plan", "--to", "db2"]], 5)
            print(f"`yamori failover plan --to db2` (new process):       {wall:6.0f} ms wall")
            peer = shutil.which("check_postgres")
            if peer is None:
                print("check_postgres not installed (apt-get install check-postgres): no side-by-side figure")
                return
            conn = ["-H", "127.0.0.1", "-p", str(primary.port), "-u", "postgres", "-db", "postgres"]
            commands = [[peer, f"--action={action}", *options, *conn] for action, *options in PEER_ACTIONS]
            commands.append([peer, "--action=hot_standby_delay", "-H", "127.0.0.1,127.0.0.1",
                             "-p", f"{primary.port},{standby.port}", "-u", "postgres", "-db", "postgres",
                             "--warning=1048576", "--critical=16777216"])
            for command in commands:  # a misconfigured action would exit at once and flatter the peer
                done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
                if done.returncode != 0:
                    print(f"check_postgres {command[1]} exited {done.returncode}: {done.stdout}{done.stderr}")
            rounds = max(3, calls // 10)
            peer_cpu, peer_wall = timed_children(commands, rounds)
            print(f"check_postgres, {len(commands)} actions (one process each): {peer_cpu:6.1f} ms CPU, "
                  f"{peer_wall:6.1f} ms wall per round ({rounds} rounds)")
            probe = ServerProbe(settings.servers[0], settings)
            list(probe.collect())
            cpu0 = time.process_time()
            for _ in range(calls):
                list(probe.collect())
            ours = (time.process_time() - cpu0) / calls * 1000
            print(f"ratio (primary probe CPU / check_postgres round CPU): {ours / peer_cpu:.3f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
