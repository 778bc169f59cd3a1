#!/usr/bin/env python3
"""Munin: history import and plugin running, measured on this machine.

1. `yamori import munin` over 200 RRD files of a year each (made with Debian's rrdtool the way
   munin-update lays them out; 4 distinct files copied under 200 host/plugin names): wall
   time, CPU, peak RSS, rows written — beside the cost of only reading the same files with
   `rrdtool dump` (the least any importer has to pay).
2. The running agent with 20 of Debian's munin plugins against Debian's munin-node serving
   the same 20 (started here on a loopback port with its own config, polled as munin-update
   polls: `config` + `fetch` of every plugin per cycle), side by side over the same window.
   Munin polls every 5 minutes; the window uses INTERVAL-second cycles instead and reports
   CPU per cycle, which does not depend on the interval.

Usage: bench/munin_import.py [FILES=200] [CYCLES=6] [INTERVAL=10]   (root: plugins run as nobody)
"""

from __future__ import annotations

import json
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
sys.path.insert(0, str(REPO))
from bench.agent_footprint import cpu_seconds, free_port, memory_kib, wait_http  # noqa: E402
from tests.support.munin_rrd import create, file_name  # noqa: E402

PLUGINS = ["cpu", "df", "df_inode", "diskstats", "entropy", "forks", "fw_packets", "if_err_eth0", "if_eth0",
           "interrupts", "irqstats", "load", "memory", "netstat", "open_files", "open_inodes", "proc_pri",
           "processes", "swap", "uptime"]


def make_datadir(root: Path, files: int) -> None:
    end = int(time.time()) // 300 * 300 - 300
    seeds = root / "seeds"
    kinds = ("GAUGE", "DERIVE", "GAUGE", "COUNTER")
    for i, kind in enumerate(kinds):
        create(seeds / f"{i}.rrd", end, kind=kind, seed=i, last=False)
    group = root / "lib" / "example.org"
    group.mkdir(parents=True)
    for n in range(files):
        host, plugin = f"host{n // 20:02d}.example.org", PLUGINS[n % 20]
        shutil.copy(seeds / f"{n % 4}.rrd", group / file_name(host, plugin, f"f{n % 3}", kinds[n % 4]))


def timed(cmd: list[str]) -> tuple[float, float, int, str]:
    """wall s, CPU s (the process and its children), peak RSS KiB of the largest of them, stdout."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, _, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out


def bench_import(files: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="yamori-bench-munin-"))
    try:
        t0 = time.monotonic()
        make_datadir(work, files)
        made = time.monotonic() - t0
        yamori = str(REPO / ".venv/bin/yamori")
        config = work / "yamori.toml"
        config.write_text(f'[agent]\nstate_dir = "{work / "var"}"\n')
        datadir = work / "lib"
        paths = sorted(str(p) for p in datadir.rglob("*.rrd"))
        script = "".join(f"dump {p} /dev/null\n" for p in paths)
        t0 = time.monotonic()
        subprocess.run(["rrdtool", "-"], input=script, text=True, capture_output=True, check=True)
        dump_wall = time.monotonic() - t0
        wall, cpu, rss, out = timed([yamori, "-c", str(config), "import", "munin", "--datadir", str(datadir), "--json"])
        report = json.loads(out)
        rows = sum(sum(r["rows"].values()) for r in report["imported"])
        again, _, _, out2 = timed([yamori, "-c", str(config), "import", "munin", "--datadir", str(datadir), "--json"])
        (work / "var" / "munin-import.json").unlink()
        refused, _, _, out3 = timed([yamori, "-c", str(config), "import", "munin", "--datadir", str(datadir), "--json"])
        added3 = sum(sum(r["rows"].values()) for r in json.loads(out3)["imported"])
        size = (work / "var" / "yamori.sqlite").stat().st_size
        return [
            f"import: {files} RRD files of 365 days (made in {made:.1f} s), {rows} rollup rows written",
            f"import: {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss / 1024:.1f} MB "
            f"({files / wall:.0f} files/s, {rows / wall:.0f} rows/s); store {size / 1e6:.1f} MB",
            f"reading only (`rrdtool dump` of the same files, one rrdtool process): {dump_wall:.2f} s wall; "
            f"ratio import / dump: {wall / max(dump_wall, 1e-3):.2f}",
            f"second run (resume state): {again:.2f} s, {len(json.loads(out2)['imported'])} files re-read; "
            f"without the state file: {refused:.2f} s, {added3} rows added",
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def munin_client(port: int, plugins: list[str]) -> None:
    """What munin-update does per cycle: cap, list, then config + fetch of each plugin."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        stream = sock.makefile("rwb")
        stream.readline()  # banner

        def ask(line: str, multi: bool) -> None:
            stream.write(line.encode() + b"\n")
            stream.flush()
            while True:
                answer = stream.readline()
                if not answer or not multi or answer == b".\n":
                    return

        ask("cap multigraph", False)
        ask("list", False)
        for plugin in plugins:
            ask(f"config {plugin}", True)
            ask(f"fetch {plugin}", True)
        stream.write(b"quit\n")
        stream.flush()


def bench_plugins(cycles: int, interval: float) -> list[str]:
    plugins = [p for p in PLUGINS if (Path("/etc/munin/plugins") / p).exists()]
    others = [p.name for p in Path("/etc/munin/plugins").iterdir() if p.name not in plugins]
    work = Path(tempfile.mkdtemp(prefix="yamori-bench-munin-"))
    work.chmod(0o755)
    yport, mport = free_port(), free_port()
    (work / "yamori.toml").write_text(
        f'[agent]\nlisten = "127.0.0.1:{yport}"\nstate_dir = "{work / "var"}"\n'
        '[probes.system]\nenabled = false\n[probes.hwmon]\nenabled = false\n[probes.raid]\nenabled = false\n'
        '[probes.conntrack]\nenabled = false\n[guard]\nenabled = false\n[audit]\nenabled = false\n'
        f'[munin]\nplugin_dir = "/etc/munin/plugins"\nplugin_conf_dir = "/etc/munin/plugin-conf.d"\n'
        f'interval = "{interval}s"\nignore = {others!r}\n'.replace("'", '"'))
    (work / "munin-node.conf").write_text(
        f"log_level 2\nlog_file {work}/munin-node.log\npid_file {work}/munin-node.pid\nbackground 0\nsetsid 0\n"
        f"user root\ngroup root\nhost_name bench.example\nallow ^127\\.0\\.0\\.1$\nhost 127.0.0.1\nport {mport}\n")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        node = subprocess.Popen(["/usr/sbin/munin-node", "--config", str(work / "munin-node.conf"), "--foreground"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(node)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", mport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        agent = subprocess.Popen([str(REPO / ".venv/bin/yamori"), "-c", str(work / "yamori.toml"), "run",
                                  "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(agent)
        wait_http(f"http://127.0.0.1:{yport}/healthz", 120)
        time.sleep(interval)  # the agent's startup (first config + fetch of every plugin) is outside the window
        y0, m0 = cpu_seconds(agent.pid), cpu_seconds(node.pid)
        started = time.monotonic()
        client = threading.Thread(target=lambda: [
            (munin_client(mport, plugins), time.sleep(max(0.0, started + (i + 1) * interval - time.monotonic())))
            for i in range(cycles)])
        client.start()
        client.join()
        y1, m1 = cpu_seconds(agent.pid), cpu_seconds(node.pid)
        window = time.monotonic() - started
        agent_cycles = window / interval
        ycpu, mcpu = (y1 - y0) * 1000 / agent_cycles, (m1 - m0) * 1000 / cycles
        ymem, mmem = memory_kib(agent.pid), memory_kib(node.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{yport}/healthz", timeout=10) as answer:
            health = json.loads(answer.read())
        ran = [p for p in health["probes"] if p["name"].startswith("munin.")]
        return [
            f"agent probes: {len(ran)} munin probes, {sum(p['state'] == 'OK' for p in ran)} OK",
            f"plugins ({len(plugins)}): {' '.join(plugins)}; {cycles} cycles of {interval:g} s ({window:.0f} s window)",
            f"yamori agent: {ycpu:.0f} ms CPU per cycle (plugins' own CPU included; `config` re-read hourly); "
            f"RSS {ymem.get('VmRSS', 0) / 1024:.1f} MB",
            f"munin-node:   {mcpu:.0f} ms CPU per cycle (plugins' own CPU included; `config` + fetch each cycle as "
            f"munin-update asks); RSS {mmem.get('VmRSS', 0) / 1024:.1f} MB",
            f"ratio yamori / munin-node CPU per cycle: {ycpu / max(mcpu, 1e-3):.2f}",
            f"per 5-minute cycle the same figures hold; per day: yamori {ycpu * 288 / 1000:.1f} s, "
            f"munin-node {mcpu * 288 / 1000:.1f} s CPU",
        ]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    version = subprocess.run(["rrdtool"], capture_output=True, text=True).stdout.split()[1]
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"this machine: {os.cpu_count()} cores (shared; load {load} at start); rrdtool {version}")
    for line in bench_import(files):
        print(line)
    for line in bench_plugins(cycles, interval):
        print(line)
    print(f"load average at the end: {Path('/proc/loadavg').read_text().split()[0]} "
          "(wall times stretch with it; CPU times do not)")


if __name__ == "__main__":
    main()
