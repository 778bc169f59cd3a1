"""A small routed network in namespaces the test creates (only documentation prefixes):

    server 192.0.2.10 ── 192.0.2.1 sw 192.0.2.17 ── 192.0.2.18 rt 198.51.100.1 ── 198.51.100.10 out
                                                     (NAT: masquerade)             + 203.0.113.10 (lo)

yamori runs in `server`; `sw`, `rt` and `out` are the hops; `out` holds the targets on 203.0.113.10.
Every link is a veth pair created inside its namespaces (no name in the host's namespace).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.netns import netns, ns_run

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)
TARGET = "203.0.113.10"


@dataclass
class Net:
    server: str
    sw: str
    rt: str
    out: str
    tag: str

    def run(self, ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return ns_run(ns, *args, check=check)

    def nft(self, ns: str, ruleset: str) -> None:
        ns_run(ns, "nft", "-f", "-", input=ruleset)

    @contextmanager
    def loss(self, ns: str, device: str, percent: int) -> Iterator[str]:
        """Random loss on `device`'s egress: `tc netem loss` where the kernel has sch_netem, else the
        same with an nftables netdev egress rule (numgen random) when netem is not built in."""
        tc = ns_run(ns, "tc", "qdisc", "add", "dev", device, "root", "netem", "loss", f"{percent}%", check=False)
        if tc.returncode == 0:
            try:
                yield "netem"
            finally:
                ns_run(ns, "tc", "qdisc", "del", "dev", device, "root", check=False)
            return
        ns_run(ns, "nft", "-f", "-", input=(
            f"table netdev lossy {{\n chain egress {{\n  type filter hook egress device \"{device}\" priority 0;\n"
            f"  numgen random mod 100 < {percent} drop\n }}\n}}\n"))
        try:
            yield "nftables"
        finally:
            ns_run(ns, "nft", "delete", "table", "netdev", "lossy", check=False)


def _veth(a_ns: str, a_name: str, b_ns: str, b_name: str) -> None:
    ns_run(a_ns, "ip", "link", "add", a_name, "type", "veth", "peer", "name", b_name, "netns", b_ns)
    ns_run(a_ns, "ip", "link", "set", a_name, "up")
    ns_run(b_ns, "ip", "link", "set", b_name, "up")


@contextmanager
def network() -> Iterator[Net]:
    tag = secrets.token_hex(2)
    with ExitStack() as stack:
        server, sw, rt, out = (stack.enter_context(netns(f"ynp{role}")) for role in ("srv", "sw", "rt", "out"))
        _veth(server, "eth0", sw, "swa")
        _veth(sw, "swb", rt, "rta")
        _veth(rt, "rtb", out, "outa")
        ns_run(server, "ip", "addr", "add", "192.0.2.10/28", "dev", "eth0")
        ns_run(server, "ip", "route", "add", "default", "via", "192.0.2.1")
        ns_run(sw, "ip", "addr", "add", "192.0.2.1/28", "dev", "swa")
        ns_run(sw, "ip", "addr", "add", "192.0.2.17/28", "dev", "swb")
        ns_run(sw, "ip", "route", "add", "default", "via", "192.0.2.18")
        ns_run(rt, "ip", "addr", "add", "192.0.2.18/28", "dev", "rta")
        ns_run(rt, "ip", "addr", "add", "198.51.100.1/24", "dev", "rtb")
        ns_run(rt, "ip", "route", "add", "192.0.2.0/28", "via", "192.0.2.17")
        ns_run(rt, "ip", "route", "add", "default", "via", "198.51.100.10")
        ns_run(out, "ip", "addr", "add", "198.51.100.10/24", "dev", "outa")
        ns_run(out, "ip", "addr", "add", f"{TARGET}/32", "dev", "lo")
        ns_run(out, "ip", "route", "add", "192.0.2.0/24", "via", "198.51.100.1")
        for ns in (sw, rt):
            ns_run(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # the router masquerades toward the outside, as a home/office NAT router does
        ns_run(rt, "nft", "-f", "-", input=(
            "table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n"
            "  oifname \"rtb\" masquerade\n }\n}\n"))
        yield Net(server, sw, rt, out, tag)


@contextmanager
def process(ns: str, *args: str, ready: str | None = None, timeout: float = 15.0) -> Iterator[subprocess.Popen[str]]:
    """A process started inside `ns`, stopped by its PID afterwards."""
    # stderr goes to a file, never an unread pipe that would block a chatty process once full
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *args],
                            stdout=subprocess.PIPE if ready is not None else subprocess.DEVNULL, stderr=errors,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        if ready is not None:
            import selectors
            import time

            selector = selectors.DefaultSelector()
            assert proc.stdout is not None
            selector.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or proc.poll() is not None:
                    errors.seek(0)
                    raise RuntimeError(f"{args} did not become ready: {errors.read()[-2000:]}")
                if selector.select(left) and ready in proc.stdout.readline():
                    break
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        errors.close()
