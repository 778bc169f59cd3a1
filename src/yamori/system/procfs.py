"""Pure readers of the /proc files the system probe needs, under any root.

psutil reads only the real /proc through a module-global path, so a probe pointed at another
tree (tests, a chroot, a container's view) would have to swap that global for every thread.
These parsers take the text and return the same figures psutil would, with the same field
names, so the probe has one code path whatever its root. Each raises ParseError naming the
file and line when a file is not what the kernel writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..records import ParseError, ParseProblem

CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
SECTOR = 512   # /proc/diskstats counts 512-byte sectors whatever the device's own sector size


def _ints(fields: list[str], source: str, number: int) -> list[int]:
    try:
        return [int(f) for f in fields]
    except ValueError:
        raise ParseError(ParseProblem(source, number, "expected whole numbers")) from None


def parse_stat(text: str, source: str = "/proc/stat") -> tuple[dict[str, float], float | None]:
    """(cpu times in seconds of the `cpu` line, boot time from `btime` or None)."""
    ticks = float(os.sysconf("SC_CLK_TCK"))
    cpu: dict[str, float] | None = None
    btime: float | None = None
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = _ints(fields[1:], source, number)
            cpu = {name: value / ticks for name, value in zip(CPU_FIELDS, values, strict=False)}
        elif fields[:1] == ["btime"] and len(fields) == 2:
            btime = float(_ints(fields[1:], source, number)[0])
    if cpu is None:
        raise ParseError(ParseProblem(source, None, "no `cpu` line"))
    return cpu, btime


def parse_meminfo(text: str, source: str = "/proc/meminfo") -> dict[str, int]:
    """Field -> bytes (`MemTotal:  8000000 kB` -> {"MemTotal": 8192000000})."""
    values: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or not fields:
            continue
        [value] = _ints(fields[:1], source, number)
        values[name.strip()] = value * 1024 if fields[1:] == ["kB"] else value
    if "MemTotal" not in values:
        raise ParseError(ParseProblem(source, None, "no MemTotal line"))
    return values


def memory_figures(meminfo: dict[str, int]) -> dict[str, float]:
    """total, available, percent (used share) and swap_percent, computed as psutil does."""
    total = meminfo["MemTotal"]
    free, buffers = meminfo.get("MemFree", 0), meminfo.get("Buffers", 0)
    cached = meminfo.get("Cached", 0) + meminfo.get("SReclaimable", 0)
    available = meminfo.get("MemAvailable", free + buffers + cached)
    swap_total, swap_free = meminfo.get("SwapTotal", 0), meminfo.get("SwapFree", 0)
    return {
        "total": float(total),
        "available": float(available),
        "percent": round((total - available) / total * 100, 1) if total else 0.0,
        "swap_percent": round((swap_total - swap_free) / swap_total * 100, 1) if swap_total else 0.0,
    }


def parse_diskstats(text: str, source: str = "/proc/diskstats") -> dict[str, dict[str, float]]:
    """Device -> psutil's disk_io_counters fields (bytes from sectors, times in ms)."""
    disks: dict[str, dict[str, float]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 14:
            raise ParseError(ParseProblem(source, number, f"expected at least 14 fields, got {len(fields)}"))
        v = _ints(fields[3:14], source, number)
        disks[fields[2]] = {
            "read_count": v[0], "read_merged_count": v[1], "read_bytes": v[2] * SECTOR, "read_time": v[3],
            "write_count": v[4], "write_merged_count": v[5], "write_bytes": v[6] * SECTOR, "write_time": v[7],
            "busy_time": v[9],
        }
    return disks


def parse_net_dev(text: str, source: str = "/proc/net/dev") -> dict[str, dict[str, float]]:
    """Interface -> psutil's net_io_counters fields."""
    nics: dict[str, dict[str, float]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        name, sep, rest = line.partition(":")
        if not sep or "|" in line:
            continue
        v = _ints(rest.split(), source, number)
        if len(v) < 16:
            raise ParseError(ParseProblem(source, number, f"expected 16 counters, got {len(v)}"))
        nics[name.strip()] = {"bytes_recv": v[0], "packets_recv": v[1], "errin": v[2], "dropin": v[3],
                              "bytes_sent": v[8], "packets_sent": v[9], "errout": v[10], "dropout": v[11]}
    return nics


def parse_mounts(mounts: str, filesystems: str) -> list[tuple[str, str, str]]:
    """(device, mountpoint, fstype) of mounts on real filesystems (those /proc/filesystems lists
    without `nodev`), as psutil.disk_partitions(all=False) gives them. Octal escapes in mount
    points (`\\040` for a space) are undone."""
    physical = {line.split()[-1] for line in filesystems.splitlines() if line.strip() and not line.startswith("nodev")}
    physical.add("zfs")
    rows = []
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0] or fields[2] not in physical:
            continue
        mountpoint = fields[1].encode().decode("unicode_escape") if "\\" in fields[1] else fields[1]
        rows.append((fields[0], mountpoint, fields[2]))
    return rows


def count_pids(proc: Path) -> int:
    """Processes under a /proc root; none at all means the root is not a /proc tree."""
    count = sum(1 for entry in os.scandir(proc) if entry.name.isdigit())
    if count == 0:
        raise ParseError(ParseProblem(str(proc), None, "no process directories: not a /proc tree"))
    return count
