"""`yamori guard scan` throughput on a million-line log written by bench/loggen.py, side by side
with fail2ban-regex (bench/fail2ban/yamori-pg-auth.conf, a multi-line filter doing the same job)
and `grep -c` of the markers. fail2ban comes from Debian (`apt-get install fail2ban`; only its
offline `fail2ban-regex` runs, never its server).

Usage: .venv/bin/python bench/guard_scan.py [LINES]   (default 1000000; prints a table)
yamori and grep are timed RUNS times each and the median run is shown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
YAMORI = [sys.executable, "-m", "yamori.cli"]
GREP = r"FATAL:  (no pg_hba\.conf entry|pg_hba\.conf rejects|password authentication failed)"
RUNS = 5   # yamori and grep: the median of this many runs (fail2ban-regex, ~15 s, runs once)


def timed(argv: list[str], stdout: int | None = subprocess.PIPE) -> tuple[float, float, bytes]:
    """(wall seconds, peak RSS MiB of that child, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def median_of(runs: int, argv: list[str]) -> tuple[float, float, bytes]:
    """Median wall time and peak RSS of `runs` runs (the machine is shared: one run is noise),
    and the output of the last. Earlier outputs are dropped at once: a child's peak RSS counts
    the memory of this process it was forked from."""
    walls: list[float] = []
    peaks: list[float] = []
    out = b""
    for _ in range(runs):
        out = b""
        wall, rss, out = timed(argv)
        walls.append(wall)
        peaks.append(rss)
    return sorted(walls)[runs // 2], sorted(peaks)[runs // 2], out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    work = Path(tempfile.gettempdir()) / "yamori-bench"
    work.mkdir(exist_ok=True)
    log = work / f"loggen-{n}.log"
    counts_file = log.with_suffix(".json")
    if not (log.exists() and counts_file.exists()):
        print(f"generating {log} ...", file=sys.stderr)
        made = subprocess.run([sys.executable, str(BENCH / "loggen.py"), str(n), str(log)], check=True,
                              capture_output=True, text=True)
        counts_file.write_text(made.stderr.strip().splitlines()[-1])
    written = json.loads(counts_file.read_text())["failures"]
    with open(log, "rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    # yamori's bytecode compiled first, as any install does (pip, a Debian package): this
    # environment sets PYTHONDONTWRITEBYTECODE, so an editable checkout would otherwise compile
    # every module from source on each run (~20 ms of start-up, not the scan's own cost)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "yamori")], check=True)
    rows = []

    wall, rss, out = median_of(RUNS, [*YAMORI, "guard", "scan", "--json", str(log)])
    summary = json.loads(out.splitlines()[-1])["summary"]
    rows.append(("yamori guard scan --json", wall, rss,
                 f"{summary['failures']} failures, {summary['attributed']} attributed, "
                 f"{summary['untrusted']} untrusted"))
    yamori_wall = wall

    f2b = BENCH / "fail2ban" / "yamori-pg-auth.conf"
    wall, rss, out = timed(["fail2ban-regex", "--print-no-missed", str(log), str(f2b)])
    matched = next((ln for ln in out.decode(errors="replace").splitlines() if ln.startswith("Lines:")), "?")
    rows.append(("fail2ban-regex (multi-line filter)", wall, rss, matched.strip()))
    f2b_wall = wall

    wall, rss, out = median_of(RUNS, ["grep", "-c", "-E", GREP, str(log)])
    rows.append(("grep -c -E markers", wall, rss, f"{out.decode().strip()} lines matched"))
    grep_wall = wall

    print(f"\n{lines:,} lines, {log.stat().st_size / 1e6:.0f} MB ({log})\n")
    print("| tool | seconds | lines/s | peak RSS MiB | result |\n|---|---:|---:|---:|---|")
    for name, wall, rss, note in rows:
        print(f"| {name} | {wall:.2f} | {lines / wall / 1e6:.2f} M | {rss:.0f} | {note} |")
    print(f"\nyamori vs fail2ban-regex: {f2b_wall / yamori_wall:.1f}x faster; "
          f"yamori vs grep: {yamori_wall / grep_wall:.1f}x grep's time")
    ok = summary["failures"] == summary["attributed"] == written
    print(f"every one of the {written:,} failures the generator wrote found and attributed: {ok}")


if __name__ == "__main__":
    main()
