"""A floor for `guard scan`: the least a pure-Python loop does per failure on the same log, without
what makes the scan safe (no other prefixes, labels or languages, no DETAIL reading, no PID, name
or time checks, a 5-field JSON line). Not a peer: it shows how much of the scan's time is the
interpreter's minimum and how much the checks (bench/results/guard.md, "where the time goes").

Prints both, side by side on the same bytes in the same run: the floor, and yamori's own scanner
and tally in one process (as each of `guard scan`'s two processes runs them).

Usage: .venv/bin/python bench/guard_floor.py [LOG]   (default: the guard_scan.py log, first 65 MB)
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from json.encoder import encode_basestring as enc
from pathlib import Path

HALF = 65_000_000   # about what one of the two processes of `guard scan` reads
ENC = "(?:SSL|no) encryption"
TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC"
NAME = r"(?:[A-Za-z0-9_.\-]{1,63}|\[unknown\])"
PAIR = re.compile(
    rf"(?P<m0>{TS}) \[(?P<k>\d+)\] \[unknown\]@\[unknown\] LOG:  connection received: host=(?P<h>[^\"\s]*) port=\d+\n"
    rf"(?P<m>{TS}) \[(?P<p>\d+)\] (?P<u>{NAME})@(?P<d>{NAME}) FATAL:  (?:"
    rf"password authentication failed for user \"(?P<u1>{NAME})\"|"
    rf"no pg_hba\.conf entry for host \"[^\"\s]*\", user \"{NAME}\", database \"{NAME}\", {ENC}|"
    rf"pg_hba\.conf rejects connection for host \"[^\"\s]*\", user \"{NAME}\", database \"{NAME}\", {ENC}"
    rf")(?=\n|\Z)")
MARK = re.compile(rb"FATAL:  ")
NOISE = (b"could not accept SSL connection:", b"startup packet")


def scan(data: bytes) -> int:
    out: list[str] = []
    lineno = 0
    for c0 in range(0, len(data), 1 << 20):
        buf = data[c0:c0 + (1 << 20)]
        counted = 0
        for marker in NOISE:
            i = buf.find(marker)
            while i >= 0:
                i = buf.find(marker, i + 1)
        for hit in MARK.finditer(buf):
            pos = hit.start()
            ls = buf.rfind(b"\n", 0, pos) + 1
            le = buf.find(b"\n", pos)
            cs = buf.rfind(b"\n", 0, ls - 1) + 1
            m = PAIR.match(buf[cs:le].decode())
            if m is None:
                continue
            host, stamp, pid, user, db, conn_pid = m.group("h", "m", "p", "u", "d", "k")
            if pid != conn_pid:
                continue
            lineno += buf.count(b"\n", counted, ls)
            counted = ls
            out.append(f'{{"time": {enc(f"{stamp[:10]}T{stamp[11:-4]}+00:00")}, "source": {enc(host)}, '
                       f'"user": {enc(user)}, "database": {enc(db)}, "line": {lineno}}}')
    return len(out)


def verified(data: bytes) -> int:
    """yamori's own scanner and tally on the same bytes, in one process, fed as `guard scan` feeds it."""
    import io

    from yamori.guard.scanout import ScanTally
    from yamori.postgres.log.stderr import StderrScanner

    scanner = StderrScanner("%m [%p] %q%u@%d ")
    tally = ScanTally(True, io.StringIO())
    held = b""
    for c0 in range(0, len(data), 1 << 20):
        chunk = held + data[c0:c0 + (1 << 20)]
        cut = chunk.rfind(b"\n") + 1
        held = chunk[cut:]
        for ev in scanner.feed(chunk[:cut], final=c0 + (1 << 20) >= len(data)):
            tally.add(ev)
    return sum(tally.counts.values())


def main() -> None:
    default = Path(tempfile.gettempdir()) / "yamori-bench" / "loggen-1000000.log"
    log = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if not log.exists():   # the log guard_scan.py writes (and keeps), made the same way
        import subprocess

        log.parent.mkdir(exist_ok=True)
        print(f"generating {log} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(Path(__file__).with_name("loggen.py")), "1000000", str(log)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = log.read_bytes()[:HALF]
    data = data[:data.rfind(b"\n") + 1]
    times: dict[str, float] = {}
    for name, fn in (("floor", scan), ("yamori", verified)):
        best, found = float("inf"), 0
        for _ in range(5):
            start = time.perf_counter()
            found = fn(data)
            best = min(best, time.perf_counter() - start)
        times[name] = best
        per = best / max(found, 1) * 1e6
        print(f"{name:7s} {len(data) / 1e6:.0f} MB, {found} failures: {best:.3f} s (min of 5), "
              f"{per:.1f} µs per failure")
    print(f"yamori's verified scan takes {times['yamori'] / times['floor']:.1f}x the floor's time")


if __name__ == "__main__":
    main()
