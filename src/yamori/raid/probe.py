"""The raid probe: /proc/mdstat (and `mdadm --detail --export` when available) -> records.

Degraded or inactive arrays are CRITICAL at once: the kernel already decided a member is
gone, no threshold or `for` duration makes that less true. `wake_events()` lets the agent run
the probe the moment the kernel signals a change instead of waiting for the interval.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from ..config import Settings
from ..probe import Probe
from ..records import Finding, Record, Severity
from .mdadm import MdadmError, MdadmExport, parse_mdadm_export
from .mdstat import parse_mdstat
from .model import Array, MdStat, MdstatError
from .report import array_findings, array_samples
from .watch import watch_mdstat

MDADM_TIMEOUT = 5.0


def read_mdstat(proc_root: Path) -> MdStat:
    """Read and parse `<proc_root>/mdstat`; a parse error names the file and line."""
    path = proc_root / "mdstat"
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return parse_mdstat(text)
    except MdstatError as err:
        raise err.with_file(str(path)) from None


def mdadm_export(device: Path) -> MdadmExport | str | None:
    """`mdadm --detail --export DEVICE`; why mdadm could not tell when it failed; None when the
    device node is absent (a /proc tree without its /dev: nothing to ask). Never raises."""
    if not device.exists():
        return None
    binary = shutil.which("mdadm")
    if binary is None:
        return "mdadm is not installed"
    try:
        done = subprocess.run([binary, "--detail", "--export", str(device)], capture_output=True, text=True,
                              timeout=MDADM_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return f"mdadm --detail --export {device}: {err}"
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return f"mdadm --detail --export {device}: {said[0][:200]}"
    try:
        return parse_mdadm_export(done.stdout)
    except MdadmError as err:
        return f"mdadm --detail --export {device}: {err}"


class RaidProbe(Probe):
    name = "raid"

    def __init__(self, proc_root: Path, dev_root: Path = Path("/dev"), *, use_mdadm: bool = True,
                 watch: bool = True, interval: float = 60.0, timeout: float = 10.0) -> None:
        self.proc_root = proc_root
        self.dev_root = dev_root
        self.use_mdadm = use_mdadm
        self.watch = watch
        self.interval = interval
        self.timeout = timeout
        # Members seen while an array was last healthy, so a member that vanished from
        # /proc/mdstat (removed after failing) can still be named in the alert.
        self._seen: dict[str, tuple[str, ...]] = {}
        self._uuids: dict[str, str] = {}
        self._mdadm_problems: dict[str, str] = {}

    @property
    def mdstat_path(self) -> Path:
        return self.proc_root / "mdstat"

    def collect(self) -> Iterable[Record]:
        mdstat = read_mdstat(self.proc_root)
        records: list[Record] = []
        for array in mdstat.arrays:
            records.extend(array_samples(array))
            records.extend(array_findings(array, self._seen.get(array.name, ()), self._uuid(array)))
            self._remember(array)
            problem = self._mdadm_problems.get(array.name)
            if problem:
                records.append(Finding("raid.mdadm_unavailable", Severity.INFO, array.name,
                                       f"{problem}: the array is watched through /proc/mdstat alone, "
                                       "without its UUID", "Install mdadm and run the agent as root."))
        return records

    def _remember(self, array: Array) -> None:
        current = tuple(m.device for m in array.members)
        if array.degraded:
            current = tuple(dict.fromkeys(self._seen.get(array.name, ()) + current))
        self._seen[array.name] = current

    def _uuid(self, array: Array) -> str | None:
        """UUID from mdadm, asked once per array (it does not change while the array exists)."""
        if not self.use_mdadm or array.container:
            return None
        if array.name not in self._uuids:
            export = mdadm_export(self.dev_root / array.name)
            if isinstance(export, str):
                self._mdadm_problems[array.name] = export
                return None
            self._mdadm_problems.pop(array.name, None)
            if export is None or export.uuid is None:
                return None
            self._uuids[array.name] = export.uuid
        return self._uuids[array.name]

    def wake_events(self) -> AsyncIterator[None] | None:
        return watch_mdstat(self.mdstat_path) if self.watch else None


def probes(settings: Settings) -> list[Probe]:
    """One raid probe when the md driver is present (the mdstat file exists), else none."""
    config = settings.probes.raid
    proc_root = Path(settings.agent.proc)
    if not config.enabled or not (proc_root / "mdstat").exists():
        return []
    return [RaidProbe(proc_root, Path(settings.agent.dev), use_mdadm=config.mdadm, watch=config.watch,
                      interval=float(config.interval), timeout=float(config.timeout))]
