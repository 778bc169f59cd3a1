"""Is the new disk blank? `wipefs --no-act --json` lists every partition-table and filesystem
signature libblkid finds on the device (it changes nothing). A disk that has any, or that
cannot be probed, is not treated as blank: writing a partition table onto it needs the
operator to name its serial (`--wipe SERIAL`)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

Probe = Callable[[Path], list[str]]


class BlankCheckError(Exception):
    pass


def parse_wipefs(text: str) -> list[str]:
    """wipefs --json output -> ["gpt at 0x200", "ext4 at 0x438", ...]."""
    try:
        data = json.loads(text or "{}")
        found = data.get("signatures") or []
        return [f"{s.get('type') or '?'} at {s.get('offset') or '?'}" for s in found]
    except (ValueError, AttributeError, TypeError) as err:
        raise BlankCheckError(f"unexpected wipefs output: {text[:200]!r}") from err


def read_signatures(device: Path, timeout: float = 30) -> list[str]:
    try:
        done = subprocess.run(["wipefs", "--no-act", "--json", str(device)], capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BlankCheckError(f"cannot run wipefs on {device}: {err}") from err
    if done.returncode != 0:
        raise BlankCheckError(f"wipefs cannot probe {device}: {done.stderr.strip() or done.returncode}")
    return parse_wipefs(done.stdout)
