"""Which filesystems and block devices the system probe reports, and how full a filesystem is.

Pure functions over what psutil and os.statvfs return, so they are tested with hand-written rows.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Filesystems that are never "full" in a way an operator can act on: kernel views, memory-backed
# mounts, and read-only images that always show 100% (snap squashfs would alert forever).
PSEUDO_FSTYPES = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
    "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "pstore", "ramfs",
    "rpc_pipefs", "securityfs", "selinuxfs", "sysfs", "tmpfs", "tracefs",
    "squashfs", "iso9660", "erofs", "udf", "cramfs", "romfs",
})

# Partitions are reported through their whole disk (iostat -d shows disks, not sda1), as
# node_exporter's default device filter also does; md, dm and zfs devices stay.
_PARTITION = re.compile(r"^(?:(?:s|h|v|xv)d[a-z]+\d+|(?:nvme\d+n\d+|mmcblk\d+)p\d+)$")


@dataclass(frozen=True, slots=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str


@dataclass(frozen=True, slots=True)
class Usage:
    used_percent: float
    free_bytes: int
    inodes_used_percent: float | None


def select_mounts(partitions: Iterable[tuple[str, str, str]]) -> list[Mount]:
    """(device, mountpoint, fstype) rows -> real filesystems, one per device.

    A device mounted several times (bind mounts, btrfs subvolumes, a container's /etc/hosts) is
    one filesystem: keep its shortest mount point, which is the one an operator knows it by.
    """
    chosen: dict[str, Mount] = {}
    for device, mountpoint, fstype in partitions:
        if fstype in PSEUDO_FSTYPES or not device or device == "none":
            continue
        current = chosen.get(device)
        if current is None or (len(mountpoint), mountpoint) < (len(current.mountpoint), current.mountpoint):
            chosen[device] = Mount(device, mountpoint, fstype)
    return sorted(chosen.values(), key=lambda m: m.mountpoint)


def fs_usage(blocks: int, bfree: int, bavail: int, frsize: int, files: int, ffree: int) -> Usage | None:
    """Usage from statvfs fields, counted the way df does: blocks reserved for root are neither
    used nor available, so a disk shows 100% when unprivileged users can write no more."""
    used = blocks - bfree
    if blocks <= 0 or used + bavail <= 0:
        return None  # a filesystem that reports no size (some FUSE mounts): nothing to say
    inodes = (files - ffree) / files * 100.0 if files > 0 else None  # btrfs, vfat report no inodes
    return Usage(used / (used + bavail) * 100.0, bavail * frsize, inodes)


def is_reported_disk(name: str, ignore: Iterable[str]) -> bool:
    """Whole block devices only, minus the name patterns the operator ignores (loop*, ram*...)."""
    return not _PARTITION.match(name) and not matches_any(name, ignore)


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
