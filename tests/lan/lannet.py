"""A throwaway LAN for tests: one namespace holds a bridge (the switch); each device is a
namespace with eth0 on that bridge. Documentation addresses and MACs only (192.0.2.0/24,
2001:db8::/32, 00:00:5e:00:53:xx of RFC 7042)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


def sh(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    return subprocess.run(cmd, check=check, text=True, capture_output=True, timeout=60)


@dataclass
class Lan:
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    namespaces: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"ymlan-{self.tag}-sw"

    def start(self) -> None:
        self._ns(self.switch)
        sh("ip", "link", "add", "br0", "type", "bridge", ns=self.switch)
        sh("ip", "link", "set", "br0", "up", ns=self.switch)

    def _ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "link", "set", "lo", "up", ns=name)

    def device(self, name: str, mac: str, *addresses: str, gateway: str | None = None) -> str:
        """A namespace `ymlan-<tag>-<name>` with eth0 (MAC, addresses) on the bridge."""
        ns = f"ymlan-{self.tag}-{name}"
        self._ns(ns)
        port = f"p{self.tag}{len(self.namespaces)}"
        sh("ip", "link", "add", port, "netns", self.switch, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", port, "master", "br0", "up", ns=self.switch)
        sh("ip", "link", "set", "eth0", "address", mac, ns=ns)
        for address in addresses:
            sh("ip", "addr", "add", address, "dev", "eth0", ns=ns)
        sh("ip", "link", "set", "eth0", "up", ns=ns)
        if gateway:
            sh("ip", "route", "add", "default", "via", gateway, ns=ns)
        return ns

    def spawn(self, ns: str, *args: str, **kw: object) -> subprocess.Popen[str]:
        proc: subprocess.Popen[str] = subprocess.Popen(["ip", "netns", "exec", ns, *args], text=True, **kw)  # type: ignore[call-overload]
        self.pids.append(proc.pid)
        return proc

    def stop(self) -> None:
        for pid in self.pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)


@contextmanager
def lan() -> Iterator[Lan]:
    net = Lan()
    try:
        net.start()
        yield net
    finally:
        net.stop()
