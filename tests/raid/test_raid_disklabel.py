"""Partition tables, UEFI boot entries and enclosure slots read from bytes and fixture trees;
every field of them is input, so truncated and hostile ones are refused, not trusted."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from yamori.raid.disklabel import ESP_GPT_TYPE, LabelError, parse
from yamori.raid.efi import GLOBAL_GUID, boot_entries, parse_load_option
from yamori.raid.enclosure import slot_of


def mbr(entries: list[tuple[int, int, int]], disk_id: int = 0x1234ABCD) -> bytearray:
    head = bytearray(1024)
    head[440:444] = disk_id.to_bytes(4, "little")
    for i, (kind, start, count) in enumerate(entries):
        head[446 + 16 * i + 4] = kind
        head[446 + 16 * i + 8 : 446 + 16 * i + 12] = start.to_bytes(4, "little")
        head[446 + 16 * i + 12 : 446 + 16 * i + 16] = count.to_bytes(4, "little")
    head[510:512] = b"\x55\xaa"
    return head


def gpt(count: int = 128, size: int = 128, lba: int = 2) -> tuple[bytes, bytes]:
    head = mbr([(0xEE, 1, 0xFFFFFFFF)])
    header = bytearray(92)
    header[:8] = b"EFI PART"
    header[56:72] = uuid.UUID("11111111-2222-3333-4444-555555555555").bytes_le
    header[72:80] = lba.to_bytes(8, "little")
    header[80:84] = count.to_bytes(4, "little")
    header[84:88] = size.to_bytes(4, "little")
    head[512:604] = header
    entries = bytearray(count * size if count * size < 10**7 else 0)
    if entries:
        entries[:16] = uuid.UUID(ESP_GPT_TYPE).bytes_le
        entries[16:32] = uuid.UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee").bytes_le
        entries[32:40] = (2048).to_bytes(8, "little")
        entries[40:48] = (67583).to_bytes(8, "little")
        entries[56:56 + 20] = "EFI System".encode("utf-16-le")
    return bytes(head), bytes(entries)


def test_mbr_partitions_and_esp() -> None:
    label = parse(bytes(mbr([(0xFD, 2048, 1000), (0, 0, 0), (0xEF, 4096, 500)])))
    assert label.kind == "dos" and label.disk_id == "0x1234abcd"
    assert [(p.number, p.first, p.last, p.type) for p in label.partitions] == [(1, 2048, 3047, "fd"),
                                                                               (3, 4096, 4595, "ef")]
    assert label.esp is not None and label.esp.number == 3


def test_gpt_partitions_and_esp() -> None:
    head, entries = gpt()
    label = parse(head, entries)
    assert label.kind == "gpt" and label.disk_id == "11111111-2222-3333-4444-555555555555"
    (esp,) = label.partitions
    assert (esp.number, esp.first, esp.last, esp.name, esp.uuid) == (1, 2048, 67583, "EFI System",
                                                                      "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    assert label.esp == esp


@pytest.mark.parametrize(("head", "entries", "words"), [
    (b"", b"", "no partition table"),
    (bytes(1024), b"", "no partition table"),
    (bytes(mbr([(0xEE, 1, 100)])), b"", "no GPT header"),
    (gpt()[0], gpt()[1][:100], "truncated"),
    (gpt(count=100_000)[0], b"", "implausible"),
    (gpt(size=7)[0], b"", "implausible"),
    (gpt(lba=0)[0], b"", "implausible"),
])
def test_hostile_tables_are_refused(head: bytes, entries: bytes, words: str) -> None:
    with pytest.raises(LabelError, match=words):
        parse(head, entries)


def option(description: str, nodes: bytes, attributes: int = 1) -> bytes:
    return (7).to_bytes(4, "little") + attributes.to_bytes(4, "little") + len(nodes).to_bytes(2, "little") + (
        description + "\0").encode("utf-16-le") + nodes


def test_boot_entry_parse_and_hostile_ones(tmp_path: Path) -> None:
    hd = bytes([4, 1, 42, 0]) + (1).to_bytes(4, "little") + bytes(16) + uuid.UUID(
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee").bytes_le + bytes([2, 2])
    path = "\\EFI\\debian\\grubx64.efi\0".encode("utf-16-le")
    nodes = hd + bytes([4, 4]) + (4 + len(path)).to_bytes(2, "little") + path + bytes([0x7F, 0xFF, 4, 0])
    entry = parse_load_option("0001", option("debian", nodes))
    assert (entry.description, entry.partition_uuid, entry.partition_number, entry.loader, entry.active) == (
        "debian", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 1, "\\EFI\\debian\\grubx64.efi", True)
    for bad in (b"", option("x", bytes([4, 4, 2, 0])), option("x", nodes[:30] + nodes[30:31]),
                (7).to_bytes(4, "little") + bytes(6) + "unterminated".encode("utf-16-le")):
        with pytest.raises(ValueError):
            parse_load_option("0002", bad if bad else b"\0" * 3)
    efivars = tmp_path / "firmware" / "efi" / "efivars"
    efivars.mkdir(parents=True)
    (efivars / f"Boot0001-{GLOBAL_GUID}").write_bytes(option("debian", nodes))
    (efivars / f"Boot0002-{GLOBAL_GUID}").write_bytes(b"\0" * 5)
    (efivars / f"BootOrder-{GLOBAL_GUID}").write_bytes(b"\x07\0\0\0\x01\0")
    assert [e.number for e in boot_entries(tmp_path)] == ["0001"]


def test_enclosure_slot(tmp_path: Path) -> None:
    base = tmp_path / "class" / "enclosure" / "0:0:8:0"
    for component, disk, number in (("Slot 01", "sde", "1"), ("Slot 02", "sdf", "2")):
        (base / component / "device" / "block" / disk).mkdir(parents=True)
        (base / component / "slot").write_text(f"{number}\n")
    (base / "Slot 02" / "locate").write_text("0\n")
    slot = slot_of(tmp_path, "sdf")
    assert slot is not None and slot.label() == "enclosure 0:0:8:0, Slot 02 (slot 2)" and slot.locate
    sde = slot_of(tmp_path, "sde")
    assert sde is not None and not sde.locate
    assert slot_of(tmp_path, "sdg") is None
    assert slot_of(tmp_path / "nowhere", "sdf") is None
