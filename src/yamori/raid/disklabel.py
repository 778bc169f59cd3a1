"""What partition table a disk carries (MBR or GPT) and its partitions, read from the disk's
first sectors: which copy method fits a survivor (sgdisk for GPT, sfdisk for MBR) and which
partition is its EFI system partition.

`parse(head, entries, sector_size)` is pure and distrusts every field (a disk is input too);
`read_label(dev_root, name)` is the thin reader.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

ESP_GPT_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
ESP_MBR_TYPE = 0xEF
MAX_ENTRIES = 1024
MAX_ENTRY_BYTES = 1024 * 1024


class LabelError(ValueError):
    """The first sectors are not a partition table yamori understands."""


@dataclass(frozen=True, slots=True)
class Partition:
    number: int
    first: int  # first sector
    last: int  # last sector, inclusive
    type: str  # GPT type GUID (lowercase) or MBR type as two hex digits
    uuid: str | None = None  # GPT unique partition GUID (lowercase)
    name: str = ""

    @property
    def is_esp(self) -> bool:
        return self.type in (ESP_GPT_TYPE, f"{ESP_MBR_TYPE:02x}")


@dataclass(frozen=True, slots=True)
class Label:
    kind: str  # "gpt" | "dos"
    partitions: tuple[Partition, ...]
    disk_id: str | None = None

    @property
    def esp(self) -> Partition | None:
        return next((p for p in self.partitions if p.is_esp), None)


def gpt_entries_location(head: bytes, sector_size: int) -> tuple[int, int] | None:
    """(byte offset, byte length) of the GPT partition entry array, or None without a GPT."""
    header = head[sector_size : sector_size + 92]
    if len(header) < 92 or header[:8] != b"EFI PART":
        return None
    lba = int.from_bytes(header[72:80], "little")
    count = int.from_bytes(header[80:84], "little")
    size = int.from_bytes(header[84:88], "little")
    if not 0 < count <= MAX_ENTRIES or size < 128 or size % 8 or count * size > MAX_ENTRY_BYTES or lba < 2:
        raise LabelError(f"GPT header has an implausible entry array ({count} entries of {size} bytes at LBA {lba})")
    return lba * sector_size, count * size


def parse(head: bytes, entries: bytes = b"", sector_size: int = 512) -> Label:
    """`head`: at least the first two sectors; `entries`: the GPT entry array when there is one."""
    if len(head) < 512 or head[510:512] != b"\x55\xaa":
        raise LabelError("no partition table (no boot signature in the first sector)")
    mbr = [head[446 + 16 * i : 462 + 16 * i] for i in range(4)]
    if any(entry[4] == 0xEE for entry in mbr):
        return _parse_gpt(head, entries, sector_size)
    partitions = []
    for index, entry in enumerate(mbr, start=1):
        kind = entry[4]
        start = int.from_bytes(entry[8:12], "little")
        count = int.from_bytes(entry[12:16], "little")
        if kind == 0 or count == 0:
            continue
        partitions.append(Partition(index, start, start + count - 1, f"{kind:02x}"))
    disk_id = f"0x{int.from_bytes(head[440:444], 'little'):08x}"
    return Label("dos", tuple(partitions), disk_id)


def _parse_gpt(head: bytes, entries: bytes, sector_size: int) -> Label:
    location = gpt_entries_location(head, sector_size)
    if location is None:
        raise LabelError("protective MBR but no GPT header (EFI PART) in the second sector")
    header = head[sector_size : sector_size + 92]
    count = int.from_bytes(header[80:84], "little")
    size = int.from_bytes(header[84:88], "little")
    if len(entries) < count * size:
        raise LabelError("GPT entry array is truncated")
    partitions = []
    for index in range(count):
        entry = entries[index * size : (index + 1) * size]
        if entry[:16] == bytes(16):
            continue
        name = entry[56:128].decode("utf-16-le", errors="replace").split("\0", 1)[0]
        partitions.append(Partition(
            index + 1, int.from_bytes(entry[32:40], "little"), int.from_bytes(entry[40:48], "little"),
            str(uuid.UUID(bytes_le=entry[:16])), str(uuid.UUID(bytes_le=entry[16:32])), name))
    return Label("gpt", tuple(partitions), str(uuid.UUID(bytes_le=header[56:72])))


def sector_size(sys_root: Path, name: str) -> int:
    try:
        text = (sys_root / "block" / name / "queue" / "logical_block_size").read_text().strip()
    except OSError:
        return 512
    return int(text) if text in ("512", "1024", "2048", "4096") else 512


def read_label(dev_root: Path, sys_root: Path, name: str) -> Label | None:
    """The disk's partition table, or None when the device cannot be read or carries none."""
    size = sector_size(sys_root, name)
    try:
        with (dev_root / name).open("rb") as device:
            head = device.read(size * 2)
            entries = b""
            location = gpt_entries_location(head, size) if len(head) >= size * 2 else None
            if location is not None:
                device.seek(location[0])
                entries = device.read(location[1])
            return parse(head, entries, size)
    except (OSError, LabelError):
        return None
