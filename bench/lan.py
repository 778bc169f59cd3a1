#!/usr/bin/env python3
"""LAN watcher costs, side by side with pyroute2 (the library the stack names for netlink).

Prints: resident memory a fresh interpreter pays to import each decoder; time to decode this
machine's neighbour/address/route/link dumps with ours and with pyroute2's marshal; conflict
decisions per second; vendor lookups in Debian's ieee-data table.
Usage: bench/lan.py [ROUNDS=200]
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from yamori.network.lan import rtnl  # noqa: E402
from yamori.network.lan.conflict import Tracker  # noqa: E402
from yamori.network.lan.oui import lookup_vendors  # noqa: E402

RSS = "import sys; {imp}; print(int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]))"


def rss(statement: str) -> float:
    out = subprocess.run([sys.executable, "-c", RSS.format(imp=statement)], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(REPO / "src")}).stdout
    return int(out) / 1024


def raw_dump(kind: int) -> list[bytes]:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
        sock.bind((0, 0))
        sock.send(rtnl.dump_request(kind, 1))
        chunks = []
        while True:
            data = sock.recv(1 << 16)
            chunks.append(data)
            if rtnl._ends(data):
                return chunks


def per_round(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds


def main(rounds: int) -> None:
    base = rss("pass")
    ours = rss("import yamori.network.lan.netlink")
    peer = rss("from pyroute2.netlink.rtnl.marshal import MarshalRtnl")
    print(f"import RSS over a bare interpreter: ours {ours - base:.1f} MB, pyroute2 {peer - base:.1f} MB "
          f"(ratio {(peer - base) / max(ours - base, 0.01):.0f}x)")

    from pyroute2.netlink.rtnl.marshal import MarshalRtnl

    chunks = [c for k in (rtnl.RTM_GETLINK, rtnl.RTM_GETADDR, rtnl.RTM_GETNEIGH, rtnl.RTM_GETROUTE)
              for c in raw_dump(k)]
    n = sum(1 for c in chunks for _ in rtnl.parse(c))
    marshal = MarshalRtnl()
    t_ours = per_round(lambda: [m for c in chunks for m in rtnl.parse(c)], rounds)
    t_peer = per_round(lambda: [m for c in chunks for m in marshal.parse(c)], rounds)
    print(f"decode this host's 4 dumps ({n} messages): ours {t_ours * 1e6:.0f} µs, pyroute2 {t_peer * 1e6:.0f} µs "
          f"(ratio {t_peer / t_ours:.1f}x)")

    t = Tracker(window=1800)
    macs = [f"00:00:5e:00:53:{i:02x}" for i in range(256)]
    start = time.perf_counter()
    count = 200_000
    for i in range(count):
        t.observe("eth0", f"192.0.2.{i % 250}", macs[(i // 250) % 2], 1000 + i / 1000)
    print(f"conflict decisions: {count / (time.perf_counter() - start):,.0f} sightings/s")

    table = Path("/usr/share/ieee-data/oui.csv")
    if table.is_file():
        wanted = ["00:1b:21:00:00:01", "b8:27:eb:00:00:02", "00:0c:29:00:00:03", "f4:f2:6d:00:00:04"]
        per = per_round(lambda: lookup_vendors(table, wanted), 10)
        print(f"vendor lookup, 4 MACs in {table} ({sum(1 for _ in table.open(errors='replace'))} rows): "
              f"{per * 1e3:.1f} ms per alert")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
