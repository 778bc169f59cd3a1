"""SMART state of the disks behind md RAID members, for `raid status` and `raid replace`.

Asked only for disks present under the dev root and only when smartctl is there; every disk
gets either its summary and findings or the reason there is none.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..config.environment import SmartSettings
from .smart import SmartError, assess_disk, unreadable
from .smart_probe import Runner, read_disks, run_command


def smart_of_disks(disks: list[str], smart: SmartSettings, dev_root: Path,
                   runner: Runner = run_command) -> dict[str, dict[str, Any]] | None:
    """{"sde": {"summary": ..., "passed": ..., "findings": [...]}, ...}; None when SMART is off
    or smartctl is not installed."""
    if not smart.enabled or (runner is run_command and shutil.which(smart.smartctl) is None):
        return None
    present = {disk: dev_root / disk for disk in dict.fromkeys(disks) if (dev_root / disk).exists()}
    read = read_disks(smart, runner, [str(path) for path in present.values()])
    result: dict[str, dict[str, Any]] = {}
    for disk in dict.fromkeys(disks):
        if disk not in present:
            result[disk] = {"summary": f"not present under {dev_root}", "passed": None, "findings": []}
            continue
        entry = read[str(present[disk])]
        if isinstance(entry, SmartError):
            result[disk] = {"summary": str(entry), "passed": None, "findings": []}
            continue
        why = unreadable(entry)
        findings = [f.as_json() for f in assess_disk(entry, None, smart.temperature_warning)] if why is None else []
        result[disk] = {**entry.as_json(), "summary": why or entry.summary(), "findings": findings}
    return result
