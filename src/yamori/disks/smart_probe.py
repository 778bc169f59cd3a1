"""The `smart` probe: `smartctl --json` for every disk, findings from `disks.smart`.

The command runner is a parameter (tests replace it and nothing else). The counts a rising
trend is judged by are kept in `<state_dir>/smart-last.json` (temp file + rename), so a
restarted agent or a one-shot `yamori check` still compares against the previous read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from ..config import Settings
from ..config.environment import SmartSettings
from ..environment.metrics import unit
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .smart import SmartDisk, SmartError, assess_disk, parse_scan, parse_smartctl, unreadable

Runner = Callable[[list[str], float], tuple[int, str]]
STATE_FILE = "smart-last.json"
_REMEMBERED = ("serial", "reallocated", "pending", "media_errors")


def run_command(argv: list[str], timeout: float) -> tuple[int, str]:
    """The real runner: no shell, C locale, bounded time."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LC_ALL": "C"},
                          errors="replace")
    return done.returncode, done.stdout


def smartctl_argv(smartctl: str, device: str, kind: str | None) -> list[str]:
    # -n standby: a sleeping disk is not spun up just to be asked how it is
    return [smartctl, "--json", "-a", "-n", "standby", *(["-d", kind] if kind else []), device]


def scan(smartctl: str, runner: Runner, timeout: float) -> list[tuple[str, str | None]]:
    _, out = runner([smartctl, "--json", "--scan"], timeout)
    return parse_scan(out)


def read_disk(smartctl: str, device: str, kind: str | None, runner: Runner, timeout: float) -> SmartDisk:
    """One disk; a runner failure or garbage output raises SmartError naming the device."""
    try:
        _, out = runner(smartctl_argv(smartctl, device, kind), timeout)
    except subprocess.TimeoutExpired:
        raise SmartError(device, f"smartctl gave no answer within {timeout:g}s") from None
    except OSError as err:
        raise SmartError(device, f"cannot run {smartctl}: {err.strerror or err}") from None
    return parse_smartctl(out, device)


def read_disks(smart: SmartSettings, runner: Runner = run_command,
               devices: Iterable[str] | None = None) -> dict[str, SmartDisk | SmartError]:
    """Every configured (or scanned) disk -> its SmartDisk, or the error saying why not."""
    timeout = min(float(smart.timeout), 30.0)
    if devices is not None:
        wanted: list[tuple[str, str | None]] = [(d, None) for d in devices]
    elif smart.devices:
        wanted = [(d, None) for d in smart.devices]
    else:
        wanted = scan(smart.smartctl, runner, timeout)
    result: dict[str, SmartDisk | SmartError] = {}
    for device, kind in wanted:
        try:
            result[device] = read_disk(smart.smartctl, device, kind, runner, timeout)
        except SmartError as err:
            result[device] = err
    return result


def load_memory(path: Path) -> tuple[dict[str, SmartDisk], str | None]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as err:
        return {}, f"{path}: unreadable, starting a new history ({str(err)[:120]})"
    memory: dict[str, SmartDisk] = {}
    for device, entry in (raw.items() if isinstance(raw, dict) else []):
        if isinstance(entry, dict):
            fields = {k: entry.get(k) for k in _REMEMBERED}
            if all(v is None or isinstance(v, str if k == "serial" else int) for k, v in fields.items()):
                memory[str(device)] = SmartDisk(str(device), **fields)  # type: ignore[arg-type]
    return memory, None


def save_memory(path: Path, memory: dict[str, SmartDisk]) -> None:
    data = {device: {k: getattr(disk, k) for k in _REMEMBERED} for device, disk in memory.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


class SmartProbe(Probe):
    name = "smart"

    def __init__(self, settings: SmartSettings, state_dir: Path, runner: Runner = run_command) -> None:
        self.settings = settings
        self.interval = settings.interval
        self.timeout = settings.timeout
        self.runner = runner
        self.state_path = state_dir / STATE_FILE

    def collect(self) -> list[Record]:
        memory, problem = load_memory(self.state_path)
        records: list[Record] = []
        if problem:
            records.append(Finding("smart.state_unreadable", Severity.INFO, "smart", problem))
        try:
            disks = read_disks(self.settings, self.runner)
        except (SmartError, OSError, subprocess.SubprocessError) as err:
            return [*records, Finding("smart.unreadable", Severity.WARNING, "smart",
                                      f"cannot list disks with `smartctl --scan`: {err}")]
        for device, disk in disks.items():
            records.extend(self._one(device, disk, memory))
        save_memory(self.state_path, memory)
        return records

    def _one(self, device: str, disk: SmartDisk | SmartError, memory: dict[str, SmartDisk]) -> list[Record]:
        if isinstance(disk, SmartError):
            return [Finding("smart.unreadable", Severity.WARNING, device, str(disk))]
        why = unreadable(disk)
        if why is not None:
            if any("STANDBY" in m.upper() for m in disk.messages):
                return []  # asleep: not woken, nothing to say
            if disk.smart_available is False:  # virtual disks, some USB bridges
                return [Finding("smart.unsupported", Severity.INFO, device,
                                f"{device} ({disk.model or 'unknown model'}) has no SMART support")]
            return [Finding("smart.unreadable", Severity.WARNING, device, f"{device}: {why}")]
        records: list[Record] = list(disk_samples(disk))
        records.extend(assess_disk(disk, memory.get(device), self.settings.temperature_warning))
        memory[device] = replace(disk)
        return records


def disk_samples(disk: SmartDisk) -> list[Sample]:
    labels = {"device": disk.device, **({"serial": disk.serial} if disk.serial else {})}
    values: list[tuple[str, float | int | None]] = [
        ("smart_healthy", None if disk.passed is None else int(disk.passed)),
        ("smart_reallocated_sectors", disk.reallocated), ("smart_pending_sectors", disk.pending),
        ("smart_offline_uncorrectable", disk.offline_uncorrectable), ("smart_media_errors", disk.media_errors),
        ("smart_percentage_used", disk.percentage_used), ("smart_temperature_celsius", disk.temperature),
        ("smart_power_on_hours", disk.power_on_hours)]
    return [Sample(metric, float(value), labels, unit(metric)) for metric, value in values if value is not None]


def probes(settings: Settings) -> list[Probe]:
    smart = settings.environment.smart
    if not smart.enabled or (shutil.which(smart.smartctl) is None and not smart.devices):
        return []
    return [SmartProbe(smart, Path(settings.agent.state_dir))]
