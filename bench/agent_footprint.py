#!/usr/bin/env python3
"""Agent footprint, side by side with Debian's prometheus-node-exporter on the same machine.

yamori runs with its defaults (it discovers what this machine has) for DURATION seconds; over
the same window node_exporter is scraped every 15 s. Prints CPU time of each, the ratio, CPU
per collection cycle and resident memory.  Usage: bench/agent_footprint.py [DURATION=60]
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread, in nanoseconds precision (/proc/PID/task/*/schedstat), plus
    waited-for children from /proc/PID/stat (10 ms ticks, which alone are too coarse here)."""
    total_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total_ns += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = (int(fields[13]) + int(fields[14])) / TICKS   # cutime, cstime
    return total_ns / 1e9 + children


def memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def main() -> None:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    yamori = shutil.which("yamori", path=str(REPO / ".venv/bin")) or "yamori"
    exporter = shutil.which("prometheus-node-exporter")
    work = Path(tempfile.mkdtemp(prefix="yamori-bench-"))
    yport, nport = free_port(), free_port()
    config = work / "yamori.toml"
    config.write_text(f'[agent]\nlisten = "127.0.0.1:{yport}"\nstate_dir = "{work / "var"}"\n')
    procs: list[subprocess.Popen[bytes]] = []
    try:
        y = subprocess.Popen([yamori, "--config", str(config), "run", "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(y)
        wait_http(f"http://127.0.0.1:{yport}/healthz")
        startup_cpu = cpu_seconds(y.pid)
        n = None
        if exporter:
            n = subprocess.Popen([exporter, f"--web.listen-address=127.0.0.1:{nport}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(n)
            wait_http(f"http://127.0.0.1:{nport}/metrics")
        y0 = cpu_seconds(y.pid)
        n0 = cpu_seconds(n.pid) if n else 0.0
        scrapes = 0
        stop = threading.Event()

        def scrape() -> None:
            # Prometheus scraping both every 15 s: the exposition is part of each one's cost
            nonlocal scrapes
            while not stop.is_set():
                for port in ([nport] if n else []) + [yport]:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                        r.read()
                scrapes += 1
                stop.wait(15.0)

        scraper = threading.Thread(target=scrape, daemon=True)
        scraper.start()
        time.sleep(duration)
        stop.set()
        y1 = cpu_seconds(y.pid)
        n1 = cpu_seconds(n.pid) if n else 0.0
        with urllib.request.urlopen(f"http://127.0.0.1:{yport}/healthz", timeout=5) as r:
            import json

            health = json.loads(r.read())
        probes = health["probes"]
        ymem = memory_kib(y.pid)
        # then one dashboard page (loopback: no login), as an operator opening it would
        with urllib.request.urlopen(f"http://127.0.0.1:{yport}/", timeout=10) as r:
            r.read()
        time.sleep(1.0)
        ypage = memory_kib(y.pid)
        nmem = memory_kib(n.pid) if n else {}
        ycpu = (y1 - y0) * 1000
        ncpu = (n1 - n0) * 1000
        print(f"window: {duration:.0f} s, this machine: {os.cpu_count()} cores")
        print(f"yamori: startup {startup_cpu * 1000:.0f} ms CPU; steady {ycpu:.0f} ms CPU over the window; "
              f"RSS {ymem.get('VmRSS', 0) / 1024:.1f} MB (peak {ymem.get('VmHWM', 0) / 1024:.1f} MB); "
              f"{len(probes)} probes: {', '.join(p['name'] for p in probes)}")
        cycles = max(1, round(duration / 60.0))
        print(f"yamori: {ycpu / cycles:.1f} ms CPU per 60 s collection cycle (all default probes), "
              f"scraped {scrapes} times")
        if n:
            print(f"node_exporter: {ncpu:.0f} ms CPU over the window for {scrapes} scrapes "
                  f"({ncpu / max(scrapes, 1):.1f} ms per scrape); RSS {nmem.get('VmRSS', 0) / 1024:.1f} MB")
            print(f"ratio yamori / node_exporter CPU: {ycpu / max(ncpu, 0.001):.2f} (target <= 1.5)")
        else:
            print("node_exporter not installed (apt-get install prometheus-node-exporter): no ratio")
        print(f"yamori RSS after one dashboard page: {ypage.get('VmRSS', 0) / 1024:.1f} MB "
              f"(peak {ypage.get('VmHWM', 0) / 1024:.1f} MB)")
        worst = max(ymem.get("VmRSS", 0), ypage.get("VmRSS", 0))
        print(f"yamori RSS budget <= 64 MB (issue 11): {'met' if worst <= 64 * 1024 else 'NOT met'}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
