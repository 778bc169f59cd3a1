#!/usr/bin/env python3
"""Cost of a verified remote command through a jump host, side by side with OpenSSH's own
`ssh -J` (pinned known_hosts, StrictHostKeyChecking=yes) on the same two real sshds.

Sets up the test topology (client, jump and inner network namespaces, 192.0.2.0/24 and
198.51.100.0/24, one sshd per namespace with its own hostname), then times, RUNS times each:
  yamori (library): connect through the jump, verify host keys + hostname + machine-id, run `true`
  yamori (CLI):     `yamori remote run inner -- true`, Python start-up included
  ssh -J:           `ssh -J jump inner true` (host keys checked, identity NOT checked)
Usage (root): bench/remote_run.py [RUNS=10]
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.netns import netns, ns_run  # noqa: E402
from tests.support.sshd import Sshd, keygen  # noqa: E402


def timed(runs: int, action: object) -> list[float]:
    figures = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        figures.append(time.perf_counter() - start)
    return figures


def inside(config: str, known_hosts: str, key: str, runs: int) -> None:
    """Runs in the client namespace: the three measurements."""
    from yamori.config import load_config
    from yamori.remote import runner
    from yamori.remote.route import resolve

    route = resolve(load_config(config).inventory, "inner")

    def library() -> None:
        code = asyncio.run(runner.run(route, ["true"], out=lambda _: None, err=lambda _: None))
        assert code == 0

    def cli() -> None:
        subprocess.run([sys.executable, "-m", "yamori.cli", "-c", config, "remote", "run", "inner", "--", "true"],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)

    common = ["-F", "/dev/null", "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
              "-o", "BatchMode=yes", "-i", key, "-o", "IdentitiesOnly=yes"]
    jump = "ssh " + " ".join(common) + " -W %h:%p root@192.0.2.2"

    def openssh() -> None:
        subprocess.run(["ssh", *common, "-o", f"ProxyCommand={jump}", "root@198.51.100.2", "true"],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)

    results = {name: timed(runs, action) for name, action in
               (("yamori (library)", library), ("yamori (CLI)", cli), ("ssh -J (OpenSSH)", openssh))}
    peer = statistics.median(results["ssh -J (OpenSSH)"])
    print(f"{'':18s} {'median':>8s} {'min':>8s} {'max':>8s}  ratio to ssh -J")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:18s} {median * 1000:7.0f}ms {min(values) * 1000:7.0f}ms {max(values) * 1000:7.0f}ms"
              f"  {median / peer:.2f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        inside(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    with tempfile.TemporaryDirectory(prefix="yamori-bench-remote-") as tmp, \
            netns("ymr-rbc") as client, netns("ymr-rbj") as jump_ns, netns("ymr-rbi") as inner_ns:
        root = Path(tmp)
        subprocess.run(["ip", "-n", client, "link", "add", "rc0", "type", "veth", "peer", "name", "rj0",
                        "netns", jump_ns], check=True)
        subprocess.run(["ip", "-n", jump_ns, "link", "add", "rj1", "type", "veth", "peer", "name", "ri0",
                        "netns", inner_ns], check=True)
        for ns, dev, cidr in ((client, "rc0", "192.0.2.1/24"), (jump_ns, "rj0", "192.0.2.2/24"),
                              (jump_ns, "rj1", "198.51.100.1/24"), (inner_ns, "ri0", "198.51.100.2/24")):
            ns_run(ns, "ip", "addr", "add", cidr, "dev", dev)
            ns_run(ns, "ip", "link", "set", dev, "up")
        key = root / "client"
        authorized = keygen(key)
        jump = Sshd(jump_ns, "192.0.2.2", "ymr-jump", secrets.token_hex(16), authorized, root / "jump")
        inner = Sshd(inner_ns, "198.51.100.2", "ymr-inner", secrets.token_hex(16), authorized, root / "inner")
        try:
            jump.start()
            inner.start()
            config = root / "yamori.toml"
            config.write_text(f"""
[[inventory.hosts]]
name = "jump"
ssh = "root@192.0.2.2"
host_key = "{jump.host_key}"
identity = "{key}"

[[inventory.hosts]]
name = "inner"
ssh = "root@198.51.100.2"
via = "jump"
host_key = "{inner.host_key}"
hostname = "ymr-inner"
machine_id = "{inner.machine_id}"
identity = "{key}"
""")
            known = root / "known_hosts"
            known.write_text(f"192.0.2.2 {jump.host_key}\n198.51.100.2 {inner.host_key}\n")
            print(f"remote command through a jump host, {runs} runs each, two real sshds in network namespaces")
            subprocess.run(["ip", "netns", "exec", client, sys.executable, __file__, "--inside", str(config),
                            str(known), str(key), str(runs)], check=True)
        finally:
            inner.stop()
            jump.stop()


if __name__ == "__main__":
    main()
