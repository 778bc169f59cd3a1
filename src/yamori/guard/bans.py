"""Persisted bans (state_dir/guard-bans.json): re-applied on start so a ban survives a restart
or a reboot (nftables sets live in the kernel and vanish with it)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..statefiles import write_atomic

FILE = "guard-bans.json"


def keep_aside(path: Path, why: str, clock: float | None = None) -> str:
    """A state file that cannot be read is renamed NAME.corrupt-TIMESTAMP (never silently
    replaced by an empty one); returns the message to report."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if clock is None else clock))
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, aside)
    except OSError as err:
        return f"{path}: {why}; could not be kept aside ({err.strerror}): starting without it"
    return f"{path}: {why}; kept aside as {aside.name}, starting without it"


class BanStore:
    def __init__(self, state_dir: Path, max_entries: int = 100_000) -> None:
        self.path = Path(state_dir) / FILE
        self.max_entries = max_entries
        self.problems: list[str] = []   # what could not be read (reported by the service)

    def load(self) -> dict[str, dict[str, float]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as err:
            self.problems.append(f"{self.path}: cannot read: {err.strerror}")
            return {}
        try:
            data = json.loads(text)
        except ValueError as err:
            self.problems.append(keep_aside(self.path, f"not JSON ({err})"))
            return {}
        if not isinstance(data, dict):
            self.problems.append(keep_aside(self.path, "not a JSON object"))
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("until"), (int, float))}

    def active(self, now: float | None = None) -> dict[str, dict[str, float]]:
        now = time.time() if now is None else now
        return {k: v for k, v in self.load().items() if v["until"] > now}

    def add(self, address: str, until: float, offense: int) -> None:
        data = self.active()
        data[address] = {"until": until, "offense": offense}
        if len(data) > self.max_entries:   # keep the longest-running bans
            data = dict(sorted(data.items(), key=lambda kv: kv[1]["until"])[-self.max_entries:])
        self._write(data)

    def remove(self, address: str) -> None:
        data = self.load()
        if data.pop(address, None) is not None:
            self._write(data)

    def _write(self, data: dict[str, dict[str, float]]) -> None:
        write_atomic(self.path, json.dumps(data, sort_keys=True))
