"""The partition copy and the bootloader steps of `raid replace` run for real, on loop devices
backed by image files: GPT with an EFI system partition (ESP copy + new FAT volume id), and MBR
(`grub-install` of Debian's grub-pc-bin writes boot code to both disks, /boot mounted from the
survivor's first partition in a private mount namespace, as /boot on an md RAID1 with metadata
1.0 reads as plain ext4). The tables are compared with `sfdisk --json`. md itself stays
simulated (mdadm is recorded, not run: this machine has no md module), and so does efibootmgr
(this VM boots without UEFI, there is no efivarfs to write): their argv are checked instead.

Disk identity comes from a fixture /sys tree laid out like the real one (loop devices have no
serial number); /dev is the real one, so the plan reads the survivor's partition table and
apply writes to the real loop devices.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from yamori.raid.disklabel import read_label
from yamori.raid.efi import GLOBAL_GUID, boot_entries
from yamori.raid.mdstat import parse_mdstat
from yamori.raid.replace import plan_from_roots
from yamori.raid.replace_apply import apply, run_subprocess

TOOLS = ("losetup", "sgdisk", "sfdisk", "partx", "mkfs.vfat", "fatlabel", "fsck.fat", "grub-install", "mkfs.ext4",
         "debugfs", "unshare")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root (CI runs as root)"),
    pytest.mark.skipif(bool(MISSING), reason=f"missing {MISSING}: run scripts/system-deps.sh (gdisk, fdisk, "
                                             "dosfstools, grub-pc-bin, grub2-common)"),
    pytest.mark.skipif(not Path("/usr/lib/grub/i386-pc").is_dir(), reason="grub-pc-bin missing: run "
                       "scripts/system-deps.sh"),
]
MiB = 1024 * 1024
RUN_FOR_REAL = {"sgdisk", "sfdisk", "partx", "dd", "fatlabel", "grub-install"}
RECORDED = {"mdadm", "efibootmgr", "ledctl"}
LOADER = "\\EFI\\debian\\shimx64.efi"


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[list[str]]:
    """Two loop devices: the survivor (96 MiB) and a slightly larger new disk (100 MiB)."""
    attached: list[str] = []
    try:
        for name, size in (("survivor.img", 96), ("new.img", 100)):
            image = tmp_path / name
            with image.open("wb") as file:
                file.truncate(size * MiB)
            attached.append(sh("losetup", "--find", "--show", "--partscan", str(image)).strip())
        yield [Path(d).name for d in attached]
    finally:
        for device in attached:
            subprocess.run(["losetup", "-d", device], check=False, timeout=60)


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def sysfs_disk(sys_root: Path, name: str, serial: str, partitions: int) -> None:
    block = sys_root / "block" / name
    (block / "device").mkdir(parents=True)
    (block / "queue").mkdir()
    (block / "queue" / "logical_block_size").write_text("512\n")
    sectors = (Path("/sys/block") / name / "size").read_text() if name.startswith("loop") else "196608\n"
    (block / "size").write_text(sectors)
    (block / "device" / "model").write_text("TEST DISK\n")
    (block / "device" / "serial").write_text(f"{serial}\n")
    for number in range(1, partitions + 1):
        part = name + ("p" if name[-1].isdigit() else "") + str(number)
        (block / part).mkdir()
        (block / part / "partition").write_text(f"{number}\n")


def load_option(description: str, part_uuid: str, number: int, loader: str) -> bytes:
    """An efivarfs Boot#### file laid out per UEFI 2.10 3.1.3: attributes, EFI_LOAD_OPTION
    (attributes, path list length, UTF-16 description, device path: hard drive + file + end)."""
    hd = bytes([4, 1]) + (42).to_bytes(2, "little") + number.to_bytes(4, "little") + (2048).to_bytes(8, "little")
    hd += (65536).to_bytes(8, "little") + uuid.UUID(part_uuid).bytes_le + bytes([2, 2])
    path = (loader + "\0").encode("utf-16-le")
    file = bytes([4, 4]) + (4 + len(path)).to_bytes(2, "little") + path
    end = bytes([0x7F, 0xFF, 4, 0])
    paths = hd + file + end
    option = (1).to_bytes(4, "little") + len(paths).to_bytes(2, "little")
    option += (description + "\0").encode("utf-16-le") + paths
    return (7).to_bytes(4, "little") + option


def mdstat_for(survivor: str) -> str:
    return (f"Personalities : [raid1] \nmd1 : active raid1 {survivor}p3[0] sdf3[1](F)\n"
            "      38912 blocks super 1.2 [2/1] [U_]\n      \n"
            f"md0 : active raid1 {survivor}p2[0] sdf2[1](F)\n      24576 blocks super 1.2 [2/1] [U_]\n      \n"
            "unused devices: <none>\n")


def guarded_runner(devices: set[str], ran: list[tuple[str, ...]],  # type: ignore[no-untyped-def]
                   boot: str | None = None):
    """Runs partitioning, ESP and bootloader commands for real, but only on the test's loop
    devices; grub-install (the plan's argv unchanged) in a private mount namespace where
    /boot is `boot`."""

    def run(argv: Sequence[str], stdin: str | None) -> str:
        ran.append(tuple(argv))
        if argv[0] in RECORDED:
            return ""
        assert argv[0] in RUN_FOR_REAL, argv
        for arg in argv:
            path = arg.split("=", 1)[-1]
            if path.startswith("/dev/"):
                assert Path(path).name in devices, f"refusing to touch {path}"
        if argv[0] == "grub-install":
            assert boot is not None
            argv = ["unshare", "--mount", "sh", "-c", f'mount {boot} /boot && exec "$@"', "sh", *argv]
        return run_subprocess(argv, stdin)

    return run


def table(device: str) -> dict:  # type: ignore[type-arg]
    return json.loads(sh("sfdisk", "--json", f"/dev/{device}"))["partitiontable"]


def comparable(data: dict, device: str) -> list[tuple]:  # type: ignore[type-arg]
    return [(p["node"].replace(device, "X"), p["start"], p["size"], p["type"], p.get("name"), p.get("bootable"))
            for p in data["partitions"]]


def roots_for(tmp_path: Path, survivor: str, new: str, uefi: bool) -> tuple[Path, Path]:
    sys_root = tmp_path / "sys"
    sysfs_disk(sys_root, survivor, "SURVIVOR-0001", 3)
    sysfs_disk(sys_root, new, "NEW-0002", 0)
    sysfs_disk(sys_root, "sdf", "FAILED-0003", 3)
    slot = sys_root / "class" / "enclosure" / "0:0:8:0" / "Slot 02"
    (slot / "device" / "block" / "sdf").mkdir(parents=True)
    (slot / "slot").write_text("2\n")
    (slot / "locate").write_text("0\n")
    if uefi:
        (sys_root / "firmware" / "efi" / "efivars").mkdir(parents=True)
    return sys_root, Path("/dev")


def test_gpt_survivor_with_esp(loops: list[str], tmp_path: Path) -> None:
    survivor, new = loops
    sh("sgdisk", "-n1:2048:+32M", "-t1:ef00", "-c1:EFI System", "-n2:0:+24M", "-t2:fd00", "-c2:boot",
       "-n3:0:0", "-t3:fd00", "-c3:root", f"/dev/{survivor}")
    sh("partx", "--update", f"/dev/{survivor}")
    wait_for(Path(f"/dev/{survivor}p1"))
    sh("mkfs.vfat", "-n", "ESP", f"/dev/{survivor}p1")
    sys_root, dev_root = roots_for(tmp_path, survivor, new, uefi=True)
    esp_uuid = table(survivor)["partitions"][0]["uuid"].lower()
    efivars = sys_root / "firmware" / "efi" / "efivars"
    (efivars / f"Boot0003-{GLOBAL_GUID}").write_bytes(load_option("debian", esp_uuid, 1, LOADER))
    (efivars / f"Boot0000-{GLOBAL_GUID}").write_bytes(b"\x07\0\0\0garbage")  # malformed: skipped
    assert [e.loader for e in boot_entries(sys_root)] == [LOADER]

    label = read_label(dev_root, sys_root, survivor)
    assert label is not None and label.kind == "gpt" and label.esp is not None and label.esp.uuid == esp_uuid
    plan = plan_from_roots(parse_mdstat(mdstat_for(survivor)), "md1", "sdf", new, sys_root, dev_root)
    commands = [s.command for s in plan.steps if s.command]
    assert commands[:3] == ["smartctl -i /dev/sdf", "smartctl -i /dev/" + survivor, "ledctl locate=/dev/sdf"]
    assert f"sgdisk --replicate=/dev/{new} /dev/{survivor}" in commands
    assert f"sgdisk --randomize-guids /dev/{new}" in commands
    assert not any("is in no md array" in w for w in plan.warnings), plan.warnings
    assert any("Slot 02 (slot 2)" in s.title for s in plan.steps if s.manual)

    ran: list[tuple[str, ...]] = []
    devices = {new, survivor, *(f"{d}p{n}" for d in (new, survivor) for n in (1, 2, 3))}
    apply(plan, sys_root, dev_root, guarded_runner(devices, ran), lambda _: None)

    before, after = table(survivor), table(new)
    assert after["label"] == "gpt"
    assert comparable(after, new) == comparable(before, survivor)
    assert after["id"] != before["id"]
    assert {p["uuid"] for p in after["partitions"]}.isdisjoint({p["uuid"] for p in before["partitions"]})
    assert after["lastlba"] > before["lastlba"]  # the backup GPT sits at the end of the larger disk

    # the ESP: a valid FAT with the same content and its own volume id
    sh("fsck.fat", "-n", f"/dev/{new}p1")
    assert sh("fatlabel", "-i", f"/dev/{new}p1") != sh("fatlabel", "-i", f"/dev/{survivor}p1")
    with open(f"/dev/{survivor}p1", "rb") as a, open(f"/dev/{new}p1", "rb") as b:
        old_esp, new_esp = a.read(32 * MiB), b.read(32 * MiB)
    assert old_esp[512:] == new_esp[512:]
    assert [i for i in range(512) if old_esp[i] != new_esp[i]] and all(
        0x27 <= i < 0x2B for i in range(512) if old_esp[i] != new_esp[i])  # FAT16 volume id bytes only

    recorded = [a for a in ran if a[0] in RECORDED]
    assert ("ledctl", "locate=/dev/sdf") in recorded
    assert ("mdadm", "--manage", "/dev/md1", "--add", f"/dev/{new}p3") in recorded
    assert ("mdadm", "--manage", "/dev/md0", "--add", f"/dev/{new}p2") in recorded
    efibootmgr = next(a for a in recorded if a[0] == "efibootmgr")
    assert efibootmgr == ("efibootmgr", "--create", "--disk", f"/dev/{new}", "--part", "1", "--label",
                          f"debian ({new} NEW-0002)", "--loader", LOADER)
    # the partition table is written before md sees the new partitions, the ESP after it
    names = [" ".join(a) for a in ran]
    assert names.index(f"sgdisk --randomize-guids /dev/{new}") < names.index(
        f"mdadm --manage /dev/md0 --add /dev/{new}p2")


def test_mbr_survivor(loops: list[str], tmp_path: Path) -> None:
    survivor, new = loops
    subprocess.run(["sfdisk", "--quiet", f"/dev/{survivor}"], check=True, text=True, timeout=60,
                   input="label: dos\n,24MiB,fd,*\n,8MiB,82\n,,fd\n")
    sh("partx", "--update", f"/dev/{survivor}")
    wait_for(Path(f"/dev/{survivor}p1"))
    sh("mkfs.ext4", "-q", "-L", "boot", f"/dev/{survivor}p1")  # /boot (md0 with metadata 1.0 reads so)
    sys_root, dev_root = roots_for(tmp_path, survivor, new, uefi=False)
    plan = plan_from_roots(parse_mdstat(mdstat_for(survivor).replace("p3[0]", "p3[0]").replace("p2[0]", "p1[0]")),
                           "md1", "sdf", new, sys_root, dev_root)
    commands = [s.command for s in plan.steps if s.command]
    assert f"sfdisk -d /dev/{survivor} | sfdisk /dev/{new}" in commands
    assert not any(c and c.startswith("sgdisk") for c in commands)
    ran: list[tuple[str, ...]] = []
    devices = {new, survivor}
    with open(f"/dev/{new}", "rb") as disk:
        assert b"GRUB" not in disk.read(1024)
    host_boot = sorted(os.listdir("/boot"))
    apply(plan, sys_root, dev_root, guarded_runner(devices, ran, boot=f"/dev/{survivor}p1"), lambda _: None)
    before, after = table(survivor), table(new)
    assert after["label"] == "dos"
    assert comparable(after, new) == comparable(before, survivor)
    assert after["id"] != before["id"]  # a fresh disk identifier
    # BIOS machine: GRUB's boot code in both MBRs and its core image in the gap after them
    assert [a for a in ran if a[0] == "grub-install"] == [("grub-install", f"/dev/{survivor}"),
                                                          ("grub-install", f"/dev/{new}")]
    for device in (survivor, new):
        with open(f"/dev/{device}", "rb") as disk:
            head = disk.read(1024)
        assert b"GRUB" in head[:440] and b"loading" in head[512:1024], device
        assert head[510:512] == b"\x55\xaa"
    assert comparable(table(new), new) == comparable(before, survivor)  # grub kept the table
    assert sorted(os.listdir("/boot")) == host_boot  # the machine's own /boot was not touched
    listing = subprocess.run(["debugfs", "-R", "ls -p /grub/i386-pc", f"/dev/{survivor}p1"],
                             capture_output=True, text=True, timeout=60)
    assert "core.img" in listing.stdout  # the modules and core image went to the survivor's /boot
