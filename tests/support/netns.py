"""Throwaway network namespaces for tests (nftables, veth pairs); removed afterwards."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def can_use_netns() -> str | None:
    """None when namespaces are usable, else why not (for a skip reason)."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    return None


def ns_run(ns: str, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *args], check=check, text=True,
                          capture_output=True, input=input, timeout=60)


@contextmanager
def netns(prefix: str = "ymr") -> Iterator[str]:
    name = f"{prefix}-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        ns_run(name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
