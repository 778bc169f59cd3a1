"""UEFI boot entries (Boot#### variables in efivarfs): which loader the firmware starts from
which partition, so a replacement disk gets an entry for the same loader on its own ESP.

`parse_load_option(data)` is pure (an efivarfs file: 4 bytes of attributes, then an
EFI_LOAD_OPTION, UEFI spec 2.10 section 3.1.3); `boot_entries(sys_root)` is the reader.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

GLOBAL_GUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
_BOOT = re.compile(rf"^Boot([0-9A-F]{{4}})-{GLOBAL_GUID}$")
MAX_VARIABLE = 64 * 1024


@dataclass(frozen=True, slots=True)
class BootEntry:
    number: str  # "0001"
    description: str
    partition_uuid: str | None  # GPT unique GUID of the partition (hard drive media path)
    partition_number: int | None
    mbr_signature: str | None  # "0x1234abcd" when the disk is MBR-partitioned
    loader: str | None  # "\\EFI\\debian\\shimx64.efi"
    active: bool


def _utf16z(data: bytes, start: int) -> tuple[str, int]:
    """A NUL-terminated UTF-16LE string at `start`; returns (text, offset after the NUL)."""
    end = start
    while end + 1 < len(data):
        if data[end : end + 2] == b"\0\0":
            return data[start:end].decode("utf-16-le", errors="replace"), end + 2
        end += 2
    raise ValueError("unterminated UTF-16 string")


def parse_load_option(number: str, data: bytes) -> BootEntry:
    if len(data) < 4 + 6 or len(data) > MAX_VARIABLE:
        raise ValueError("not an EFI load option (size)")
    option = data[4:]  # efivarfs prefixes the variable's attributes
    attributes = int.from_bytes(option[:4], "little")
    path_length = int.from_bytes(option[4:6], "little")
    description, offset = _utf16z(option, 6)
    paths = option[offset : offset + path_length]
    if len(paths) < path_length:
        raise ValueError("device path list is truncated")
    part_uuid: str | None = None
    part_number: int | None = None
    loader: str | None = None
    signature: str | None = None
    position = 0
    while position + 4 <= len(paths):
        kind, sub = paths[position], paths[position + 1]
        length = int.from_bytes(paths[position + 2 : position + 4], "little")
        if length < 4 or position + length > len(paths):
            raise ValueError("malformed device path node")
        node = paths[position : position + length]
        if kind == 0x7F and sub == 0xFF:  # end of the whole path
            break
        if kind == 0x04 and sub == 0x01 and length >= 42:  # media: hard drive
            part_number = int.from_bytes(node[4:8], "little")
            if node[41] == 0x02:  # GPT signature type
                part_uuid = str(uuid.UUID(bytes_le=node[24:40]))
            elif node[41] == 0x01:  # MBR disk signature
                signature = f"0x{int.from_bytes(node[24:28], 'little'):08x}"
        elif kind == 0x04 and sub == 0x04:  # media: file path
            loader = node[4:].decode("utf-16-le", errors="replace").split("\0", 1)[0]
        position += length
    return BootEntry(number, description, part_uuid, part_number, signature, loader, bool(attributes & 1))


def boot_entries(sys_root: Path) -> list[BootEntry]:
    """Every Boot#### variable that parses; unreadable or malformed ones are skipped."""
    folder = sys_root / "firmware" / "efi" / "efivars"
    try:
        names = sorted(folder.iterdir())
    except OSError:
        return []
    entries = []
    for path in names:
        match = _BOOT.match(path.name)
        if not match:
            continue
        try:
            with path.open("rb") as file:
                data = file.read(MAX_VARIABLE + 1)
            entries.append(parse_load_option(match[1], data))
        except (OSError, ValueError):
            continue
    return entries
