"""The system probe: CPU, load, memory, swap, filesystems, disk I/O, network, uptime, processes.

Everything is read under the configured /proc root (system/procfs.py parses it the way psutil
would, without psutil's module-global path, so fixture trees and the real system take the same
code path); rates come from the difference between this run's counters and the
previous run's (the first run after start has no rates). The probe only measures: thresholds
such as "disk 90% full" are alert rules (see `metrics.DEFAULT_RULES`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..config.probes import SystemSettings
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from . import procfs
from .metrics import unit
from .mounts import fs_usage, is_reported_disk, matches_any, select_mounts
from .rates import cpu_percentages, disk_rates, net_rates

DEFAULT_PROC = Path("/proc")


def parse_loadavg(text: str) -> tuple[float, float, float]:
    """'0.52 0.58 0.59 1/467 12345' -> (0.52, 0.58, 0.59)."""
    fields = text.split()
    if len(fields) < 3:
        raise ValueError(f"expected three load averages, got {text.strip()!r}")
    return float(fields[0]), float(fields[1]), float(fields[2])


@dataclass(slots=True)
class _Counters:
    """What the previous run saw, to turn counters into rates."""

    at: float
    cpu: dict[str, float] | None = None
    disks: dict[str, dict[str, float]] = field(default_factory=dict)
    nics: dict[str, dict[str, float]] = field(default_factory=dict)


def _sample(metric: str, value: float, **labels: str) -> Sample:
    return Sample(metric, float(value), labels, unit(metric))


class SystemProbe(Probe):
    name = "system"

    def __init__(self, settings: SystemSettings, proc: Path = DEFAULT_PROC,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval = settings.interval
        self.timeout = settings.timeout
        self._settings = settings
        self._proc = proc
        self._clock = clock
        self._monotonic = monotonic
        self._previous: _Counters | None = None

    def collect(self) -> list[Record]:
        counters = _Counters(self._monotonic())
        sections: list[tuple[str, Callable[[_Counters], list[Sample]]]] = [
            ("cpu", self._cpu), ("load", self._load), ("memory", self._memory), ("filesystems", self._filesystems),
            ("disk I/O", self._disk_io), ("network", self._network), ("uptime", self._uptime),
            ("processes", self._processes),
        ]
        records: list[Record] = []
        problems: list[str] = []
        for title, section in sections:
            try:
                records.extend(section(counters))
            except (OSError, ValueError, KeyError, IndexError) as err:  # a truncated file: keep the rest
                problems.append(f"{title}: {err or type(err).__name__}")
        if len(problems) == len(sections):
            raise OSError(f"nothing readable under {self._proc}: " + "; ".join(problems))
        if problems:
            records.append(Finding("system.unreadable", Severity.INFO, "system",
                                   "some host metrics could not be read: " + "; ".join(problems)))
        self._previous = counters
        return records

    def _elapsed(self, counters: _Counters) -> float | None:
        return counters.at - self._previous.at if self._previous is not None else None

    def _cpu(self, counters: _Counters) -> list[Sample]:
        counters.cpu, _ = procfs.parse_stat(self._read("stat"), str(self._proc / "stat"))
        previous = self._previous.cpu if self._previous is not None else None
        shares = cpu_percentages(previous, counters.cpu) if previous is not None else None
        return [_sample(metric, value) for metric, value in (shares or {}).items()]

    def _load(self, counters: _Counters) -> list[Sample]:
        loads = parse_loadavg((self._proc / "loadavg").read_text())
        return [_sample(name, value) for name, value in zip(("load1", "load5", "load15"), loads, strict=True)]

    def _memory(self, counters: _Counters) -> list[Sample]:
        memory = procfs.memory_figures(procfs.parse_meminfo(self._read("meminfo"), str(self._proc / "meminfo")))
        return [
            _sample("memory_used_percent", memory["percent"]),
            _sample("memory_available_bytes", memory["available"]),
            _sample("memory_total_bytes", memory["total"]),
            _sample("swap_used_percent", memory["swap_percent"]),
        ]

    def _filesystems(self, counters: _Counters) -> list[Sample]:
        rows = procfs.parse_mounts(self._read("self/mounts"), self._read("filesystems"))
        samples: list[Sample] = []
        for mount in select_mounts(rows):
            try:
                st = os.statvfs(mount.mountpoint)
            except OSError:
                continue  # unmounted between the two reads, or not ours to see
            usage = fs_usage(st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize, st.f_files, st.f_ffree)
            if usage is None:
                continue
            samples.append(_sample("disk_used_percent", usage.used_percent, mount=mount.mountpoint))
            samples.append(_sample("disk_free_bytes", usage.free_bytes, mount=mount.mountpoint))
            if usage.inodes_used_percent is not None:
                samples.append(_sample("disk_inodes_used_percent", usage.inodes_used_percent, mount=mount.mountpoint))
        return samples

    def _disk_io(self, counters: _Counters) -> list[Sample]:
        disks = procfs.parse_diskstats(self._read("diskstats"), str(self._proc / "diskstats"))
        ignore = self._settings.ignore_devices
        counters.disks = {name: io for name, io in disks.items() if is_reported_disk(name, ignore)}
        return self._rates(counters, counters.disks, self._previous.disks if self._previous else {},
                           "device", disk_rates)

    def _network(self, counters: _Counters) -> list[Sample]:
        nics = procfs.parse_net_dev(self._read("net/dev"), str(self._proc / "net/dev"))
        ignore = self._settings.ignore_interfaces
        counters.nics = {name: io for name, io in nics.items() if not matches_any(name, ignore)}
        return self._rates(counters, counters.nics, self._previous.nics if self._previous else {},
                           "interface", net_rates)

    def _rates(self, counters: _Counters, current: dict[str, dict[str, float]],
               previous: dict[str, dict[str, float]], label: str,
               compute: Callable[[dict[str, float], dict[str, float], float], dict[str, float]]) -> list[Sample]:
        seconds = self._elapsed(counters)
        if seconds is None:
            return []
        samples: list[Sample] = []
        for name in sorted(current.keys() & previous.keys()):
            for metric, value in compute(previous[name], current[name], seconds).items():
                samples.append(_sample(metric, value, **{label: name}))
        return samples

    def _uptime(self, counters: _Counters) -> list[Sample]:
        _, booted = procfs.parse_stat(self._read("stat"), str(self._proc / "stat"))
        if booted is None:
            raise ValueError(f"{self._proc / 'stat'}: no btime line")
        return [_sample("uptime_seconds", max(0.0, self._clock() - booted))]

    def _processes(self, counters: _Counters) -> list[Sample]:
        return [_sample("processes", procfs.count_pids(self._proc))]

    def _read(self, name: str) -> str:
        return (self._proc / name).read_text(encoding="utf-8", errors="replace")


def probes(settings: Settings) -> list[Probe]:
    if not settings.probes.system.enabled:
        return []
    return [SystemProbe(settings.probes.system, settings.agent.proc)]
