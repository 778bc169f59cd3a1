#!/usr/bin/env python3
"""Audit figures: pg_hba.conf parse+check cost side by side with PostgreSQL's own parse
(pg_hba_file_rules on a real cluster), keepalived parse+check beside `keepalived -t`, an nft file
loaded in a throwaway namespace, and one whole `yamori audit` of this machine.
Usage: bench/audit.py [ROUNDS=5]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
FIXTURES = REPO / "tests" / "fixtures"

import psycopg  # noqa: E402

from support.pgcluster import running_cluster  # noqa: E402
from yamori.audit.context import AuditContext  # noqa: E402
from yamori.audit.hba import check_hba  # noqa: E402
from yamori.audit.keepalived import check_keepalived  # noqa: E402
from yamori.audit.keepalived_conf import load_keepalived  # noqa: E402
from yamori.audit.nft_ruleset import load_file  # noqa: E402
from yamori.config import Settings  # noqa: E402
from yamori.config.inventory import InventorySettings  # noqa: E402
from yamori.postgres.files.hba import load_hba  # noqa: E402


def big_hba(rules: int) -> str:
    lines = ["local all postgres peer"]
    for i in range(rules):
        a, b = divmod(i, 256)
        lines.append(f"host db{i % 50},app \"user {i}\" 10.{a % 256}.{b}.0/24 scram-sha-256")
    return "\n".join(lines) + "\n"


def median_ms(func, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_hba(rounds: int) -> None:
    ctx = AuditContext.from_inventory(InventorySettings.model_validate(
        {"networks": [{"name": "lan", "cidr": "10.0.0.0/8"}]}))
    base = Path(tempfile.mkdtemp(prefix="yamori-bench-audit-"))
    base.chmod(0o755)
    try:
        with running_cluster(base) as cluster:
            for rules in (200, 2000):
                cluster.write_hba(big_hba(rules) + "host all all 127.0.0.1/32 trust\n")
                path = cluster.datadir / "pg_hba.conf"
                parse = median_ms(partial(load_hba, path), rounds)
                check = median_ms(lambda p=path: check_hba(load_hba(p), ctx), rounds)
                with psycopg.connect(cluster.dsn, autocommit=True) as conn:
                    server = median_ms(lambda: conn.execute("SELECT count(*) FROM pg_hba_file_rules").fetchone(),
                                       rounds)
                print(f"pg_hba.conf {rules:5d} rules: yamori parse {parse:7.1f} ms, parse+checks {check:8.1f} ms; "
                      f"PostgreSQL pg_hba_file_rules {server:6.1f} ms (parse ratio {parse / server:.1f}x)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def bench_keepalived(rounds: int) -> None:
    files = [FIXTURES / "incidents" / "keepalived-vrrp-ipvs-dr-same-host.conf",
             *sorted((FIXTURES / "corpora/keepalived/upstream-doc-samples").iterdir())]
    ours = median_ms(lambda: [check_keepalived(load_keepalived(f), AuditContext()) for f in files], rounds)
    peer = median_ms(lambda: [subprocess.run(["keepalived", "-t", "-f", str(f)], capture_output=True, check=False)
                              for f in files], rounds)
    print(f"keepalived {len(files)} files: yamori parse+checks {ours:6.1f} ms; keepalived -t {peer:6.1f} ms "
          f"(ratio {ours / peer:.2f}x)")


def bench_nft(rounds: int) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write("flush ruleset\ntable inet filter {\n chain input {\n  type filter hook input priority 0; "
                "policy drop;\n" + "".join(f"  ip saddr 10.{i // 256}.{i % 256}.0/24 tcp dport 5432 accept\n"
                                           for i in range(500)) + " }\n}\n")
    try:
        ms = median_ms(lambda: load_file(f.name), rounds)
        print(f"nftables 500-rule file loaded in a throwaway netns and read back: {ms:6.1f} ms")
    finally:
        os.unlink(f.name)


def bench_live(rounds: int) -> None:
    from yamori.audit.runner import AuditRequest, run_audit

    ms = median_ms(lambda: run_audit(Settings(), AuditRequest(live=True)), rounds)
    print(f"whole audit of this machine (discovery, live nftables, listeners): {ms:6.1f} ms")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    bench_hba(rounds)
    bench_keepalived(rounds)
    bench_nft(rounds)
    bench_live(rounds)


if __name__ == "__main__":
    main()
