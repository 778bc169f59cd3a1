"""Which physical drive is /dev/sdf? Identity of block devices from sysfs and /dev/disk/by-id.

Thin readers that take the roots (`settings.agent.sys`, `settings.agent.dev`) so tests use
fixture trees. The serial number is what is printed on the drive's label, so it is what every
destructive step of a replacement names.

Where the serial comes from, in order: `device/serial` (NVMe, many SAS/USB), the SCSI VPD page
0x80 `device/vpd_pg80` (SATA disks behind libata), and finally the udev by-id link name
(`ata-<MODEL>_<SERIAL>`), which udev builds from the same ATA IDENTIFY data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_BY_ID_PREFIXES = ("ata-", "nvme-", "scsi-", "usb-", "wwn-", "virtio-")
_BY_ID_SERIAL = re.compile(r"^(?:ata|usb|scsi-[0-9A-Z]+|nvme)-(?P<model>.+)_(?P<serial>[^_]+)$")


@dataclass(frozen=True, slots=True)
class Disk:
    name: str  # kernel name: sde, nvme0n1
    present: bool  # False when the kernel no longer lists it (a dead drive often drops off the bus)
    model: str | None = None
    vendor: str | None = None
    serial: str | None = None
    size_bytes: int | None = None
    by_id: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()  # sde1, sde2, ...

    def label(self) -> str:
        """How a person finds the drive: "/dev/sde (WDC WD10EZEX, serial WD-WCC3F1234567)"."""
        if not self.present:
            return f"/dev/{self.name} (no longer visible to the kernel)"
        what = " ".join(x for x in (self.vendor, self.model) if x) or "unknown model"
        serial = f"serial {self.serial}" if self.serial else "serial unknown"
        return f"/dev/{self.name} ({what}, {serial})"


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or None


def _vpd_serial(path: Path) -> str | None:
    """SCSI VPD page 0x80: 4-byte header (byte 3 = length), then the serial in ASCII."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < 5:
        return None
    return data[4 : 4 + data[3]].decode("ascii", errors="replace").strip() or None


def by_id_links(dev_root: Path, name: str) -> tuple[str, ...]:
    """Names in <dev>/disk/by-id that point at /dev/<name> (whole disk, not partitions)."""
    folder = dev_root / "disk" / "by-id"
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return ()
    found = []
    for entry in entries:
        try:
            target = entry.readlink()
        except OSError:
            continue
        if target.name == name.replace("/", "!"):
            found.append(entry.name)
    return tuple(found)


def serial_from_by_id(links: tuple[str, ...]) -> str | None:
    for link in links:
        if link.startswith(_BY_ID_PREFIXES) and (match := _BY_ID_SERIAL.match(link)):
            return match["serial"]
    return None


def read_disk(sys_root: Path, dev_root: Path, name: str) -> Disk:
    block = sys_root / "block" / name.replace("/", "!")
    links = by_id_links(dev_root, name)
    if not block.is_dir():
        return Disk(name, present=False, serial=serial_from_by_id(links), by_id=links)
    device = block / "device"
    sectors = _read(block / "size")
    partitions = tuple(sorted((p.name.replace("!", "/") for p in block.iterdir() if (p / "partition").is_file()),
                              key=_natural))
    return Disk(
        name=name,
        present=True,
        model=_read(device / "model"),
        vendor=_read(device / "vendor"),
        serial=_read(device / "serial") or _vpd_serial(device / "vpd_pg80") or serial_from_by_id(links),
        size_bytes=int(sectors) * 512 if sectors and sectors.isdigit() else None,
        by_id=links,
        partitions=partitions,
    )


def partition_number(sys_root: Path, disk: str, partition: str) -> int | None:
    """The partition's number from sysfs, else from its name (sde3 -> 3, nvme0n1p3 -> 3)."""
    text = _read(sys_root / "block" / disk.replace("/", "!") / partition.replace("/", "!") / "partition")
    if text and text.isdigit():
        return int(text)
    match = re.search(r"(\d+)$", partition[len(disk):])
    return int(match[1]) if match and partition.startswith(disk) else None


def partition_name(disk: str, number: int) -> str:
    """Kernel naming: sdg + 3 -> sdg3; nvme1n1 + 3 -> nvme1n1p3 (a disk name ending in a digit)."""
    return f"{disk}p{number}" if disk[-1].isdigit() else f"{disk}{number}"


def _natural(name: str) -> tuple[str, int]:
    match = re.match(r"^(.*?)(\d+)$", name)
    return (match[1], int(match[2])) if match else (name, 0)
