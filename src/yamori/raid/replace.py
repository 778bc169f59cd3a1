"""Guided replacement of a failed RAID member disk (incident 3): plan as data, then apply.

The operator's procedure, recalled from old notes in 2014, made explicit:
identify the failed drive by serial number, remove its partitions from their arrays, swap the
drive, copy the partition table from the surviving disk, `mdadm --add` each new partition to the
array its twin on the survivor belongs to (md0 = sdX1, md1 = sdX3), follow the rebuild, and
install the bootloader on every member disk (which BIOS drive boots was unclear).

`plan()` reads nothing but what it is given (parsed mdstat and the disks' identities) and
returns `Plan`; `apply` lives in `replace_apply.py` and re-verifies every serial first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .blank import BlankCheckError, Probe, read_signatures
from .disklabel import Label, Partition, read_label
from .disks import Disk, partition_name, partition_number, read_disk
from .efi import BootEntry, boot_entries
from .enclosure import Slot, slot_of
from .model import Array, MdStat
from .report import parent_disk


class ReplaceError(ValueError):
    """The replacement cannot be planned as asked (wrong array, wrong disk, too small...)."""


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    command: str | None = None  # what a person would type; None for a physical/manual step
    argv: tuple[tuple[str, ...], ...] = ()  # what apply runs: one command, or two joined by a pipe
    target: str | None = None  # the disk this step changes, e.g. "sdg"
    serial: str | None = None  # that disk's serial, verified right before the step runs
    destructive: bool = False
    manual: bool = False
    follow: bool = False  # watch the rebuild (apply follows /proc/mdstat here)
    optional: bool = False  # a failure is reported and the run goes on (the locate LED)


@dataclass(frozen=True, slots=True)
class Pairing:
    """One array touched by the replacement and its three partitions."""

    array: str
    level: str | None
    survivor: str  # sde3
    failed: str | None  # sdf3, None once it was removed from the array
    failed_flagged: bool  # the kernel already marked it (F)
    new: str | None  # sdg3


@dataclass(frozen=True, slots=True)
class Plan:
    array: str
    failed: Disk
    survivor: Disk
    new: Disk | None
    pairings: tuple[Pairing, ...]
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_from_roots(mdstat: MdStat, array: str, failed: str, new: str | None, sys_root: Path,
                    dev_root: Path, wipe_serial: str | None = None, probe: Probe = read_signatures) -> Plan:
    """Read the disks' identities from the roots (and the new disk's signatures), then plan."""
    failed_name = parent_disk(failed)
    target = mdstat.array(array)
    survivor_name = _survivor_disk(target, failed_name) if target is not None else None
    disks = {n: read_disk(sys_root, dev_root, n) for n in {failed_name, survivor_name, new} if n}
    # After a hot swap the new drive often gets the old one's name: then sysfs describes the
    # NEW drive and the failed one's identity is gone.
    failed_disk = Disk(failed_name, present=False) if new == failed_name else disks[failed_name]
    uefi = (sys_root / "firmware" / "efi").is_dir()
    signatures: list[str] | None = None
    new_disk = disks.get(new or "")
    if new_disk is not None and new_disk.present:
        try:
            signatures = probe(dev_root / new_disk.name)
        except BlankCheckError as err:
            raise ReplaceError(f"cannot tell whether /dev/{new_disk.name} is blank ({err}); refusing to write "
                               "a partition table on it") from err
    return plan(mdstat, array, failed_disk, disks.get(survivor_name or ""), new_disk, uefi=uefi,
                partition_numbers=_numbers(mdstat, sys_root), new_signatures=signatures, wipe_serial=wipe_serial,
                survivor_label=read_label(dev_root, sys_root, survivor_name) if survivor_name else None,
                boot=tuple(boot_entries(sys_root)) if uefi else (),
                slot=slot_of(sys_root, failed_name) if failed_disk.present else None)


def _numbers(mdstat: MdStat, sys_root: Path) -> dict[str, int]:
    found = {}
    for array in mdstat.arrays:
        for member in array.members:
            number = partition_number(sys_root, parent_disk(member.device), member.device)
            if number is not None:
                found[member.device] = number
    return found


def _survivor_disk(array: Array, failed: str) -> str | None:
    disks = sorted({parent_disk(m.device) for m in array.data_members} - {failed})
    return disks[0] if disks else None


def plan(mdstat: MdStat, array_name: str, failed: Disk, survivor: Disk | None, new: Disk | None, *,
         uefi: bool = False, partition_numbers: dict[str, int] | None = None, survivor_label: Label | None = None,
         boot: tuple[BootEntry, ...] = (), slot: Slot | None = None, new_signatures: list[str] | None = None,
         wipe_serial: str | None = None) -> Plan:
    """The replacement of `failed` (a whole disk) for `array_name` and every array sharing it.
    `new_signatures`: what wipefs found on the new disk (None: not probed = not known blank);
    a disk that is not blank is refused unless `wipe_serial` is its serial.
    `survivor_label`: the survivor's partition table (GPT is copied with sgdisk, MBR or unknown
    with sfdisk); `boot`: UEFI boot entries; `slot`: the failed disk's enclosure slot."""
    array = mdstat.array(array_name)
    if array is None:
        names = ", ".join(a.name for a in mdstat.arrays) or "none"
        raise ReplaceError(f"no array {array_name} in mdstat (arrays: {names})")
    on_failed = [m for m in array.members if parent_disk(m.device) == failed.name]
    if not on_failed and not array.degraded:
        raise ReplaceError(f"{array_name} is not degraded and has no member on {failed.name}: nothing to replace")
    flagged = [m.device for m in array.failed if parent_disk(m.device) != failed.name]
    if not on_failed and flagged:
        raise ReplaceError(f"{array_name}'s failed member is {', '.join(flagged)}, not on {failed.name}")
    if survivor is None or not survivor.present:
        raise ReplaceError(f"{array_name} has no working member outside {failed.name} to copy the partition table from")
    pairings = _pairings(mdstat, failed.name, survivor.name, new.name if new else None, partition_numbers or {})
    warnings = list(_check_new(mdstat, failed, survivor, new))
    wipe = _check_blank(new, new_signatures, wipe_serial)
    steps = [*_identify(failed, survivor, slot), *_removals(pairings, failed), _swap(failed, survivor, new, slot)]
    if slot is not None and slot.locate and new is not None and new.serial:
        steps.append(Step(f"Turn the locate LED of {slot.label()} off again", f"ledctl locate_off=/dev/{new.name}",
                          (("ledctl", f"locate_off=/dev/{new.name}"),), new.name, new.serial, optional=True))
    if new is None:
        steps.append(Step(f"Once the new drive is in, run `yamori raid replace {array_name} --failed {failed.name} "
                          "--new DISK` for the rest of the plan (partitioning, --add, rebuild, bootloader).",
                          manual=True))
    else:
        if wipe:
            argv = ("wipefs", "--all", f"/dev/{new.name}")
            steps.append(Step(f"Erase every signature on the new drive {new.label()} (--wipe {new.serial}): "
                              + ", ".join(wipe), " ".join(argv), (argv,), new.name, new.serial, destructive=True))
        steps.extend(_rebuild_steps(mdstat, pairings, survivor, new, uefi, warnings, survivor_label, boot))
    return Plan(array_name, failed, survivor, new, pairings, tuple(steps), tuple(warnings))


def _pairings(mdstat: MdStat, failed: str, survivor: str, new: str | None,
              numbers: dict[str, int]) -> tuple[Pairing, ...]:
    result = []
    for array in mdstat.arrays:
        if not array.active or array.container:
            continue
        on_failed = next((m for m in array.members if parent_disk(m.device) == failed), None)
        twin = next((m for m in array.data_members if parent_disk(m.device) == survivor), None)
        if twin is None or (on_failed is None and not array.degraded):
            continue
        number = numbers.get(twin.device) or _trailing_number(twin.device)
        result.append(Pairing(array.name, array.level, twin.device, on_failed.device if on_failed else None,
                              bool(on_failed and on_failed.failed), partition_name(new, number) if new else None))
    return tuple(result)


def _trailing_number(device: str) -> int:
    digits = len(device) - len(device.rstrip("0123456789"))
    if not digits:
        raise ReplaceError(f"{device} is a whole disk, not a partition: copy its layout by hand")
    return int(device[-digits:])


def _check_new(mdstat: MdStat, failed: Disk, survivor: Disk, new: Disk | None) -> list[str]:
    if new is None:
        return []
    if not new.present:
        raise ReplaceError(f"new disk /dev/{new.name} is not present")
    if new.name == survivor.name:
        raise ReplaceError(f"/dev/{new.name} is the surviving disk; the new disk must be another one")
    users = sorted({a.name for a in mdstat.arrays for m in a.members if parent_disk(m.device) == new.name})
    if users:
        raise ReplaceError(f"/dev/{new.name} is still a member of {', '.join(users)}; pick an unused disk")
    if new.size_bytes is not None and survivor.size_bytes is not None and new.size_bytes < survivor.size_bytes:
        raise ReplaceError(f"/dev/{new.name} ({new.size_bytes} bytes) is smaller than the survivor "
                           f"/dev/{survivor.name} ({survivor.size_bytes} bytes)")
    warnings = []
    if new.name == failed.name:
        warnings.append(f"the new disk took the failed disk's name /dev/{new.name}: check that serial "
                        f"{new.serial or 'unknown'} is printed on the NEW drive")
    if new.serial is None:
        raise ReplaceError(f"cannot read the serial number of /dev/{new.name}; it must be verified before writing")
    return warnings


def _check_blank(new: Disk | None, signatures: list[str] | None, wipe_serial: str | None) -> list[str]:
    """Refuse a new disk that is not blank unless --wipe names its serial; returns what will be erased."""
    if new is None:
        return []
    found = [f"partition {p}" for p in new.partitions] + list(signatures or [])
    if signatures is None:
        found.append("not probed with wipefs")
    if not found:
        if wipe_serial is not None and wipe_serial != new.serial:
            raise ReplaceError(f"--wipe {wipe_serial} does not match /dev/{new.name}'s serial {new.serial}")
        return []
    if wipe_serial is None:
        raise ReplaceError(f"/dev/{new.name} ({new.label()}) is not blank: {', '.join(found)}. It may hold data or "
                           "be the wrong drive. If it really is the new drive, pass --wipe with its serial "
                           f"(--wipe {new.serial}) to erase it")
    if wipe_serial != new.serial:
        raise ReplaceError(f"--wipe {wipe_serial} does not match /dev/{new.name}'s serial {new.serial}: "
                           "nothing will be erased")
    return found


def _identify(failed: Disk, survivor: Disk, slot: Slot | None) -> list[Step]:
    links = f" (by-id: {', '.join(failed.by_id)})" if failed.by_id else ""
    where = f", in {slot.label()}" if slot else ""
    steps = [
        Step(f"Failed drive: {failed.label()}{links}{where}.", command=f"smartctl -i /dev/{failed.name}"
             if failed.present else None),
        Step(f"Surviving drive, keep it: {survivor.label()}.",
             command=f"smartctl -i /dev/{survivor.name}"),
    ]
    # The LED only where the enclosure has one for this slot, and only for a drive whose serial
    # is verified right before: a lit LED on the wrong drive is how the survivor gets pulled.
    if slot is not None and slot.locate and failed.present and failed.serial:
        argv = ("ledctl", f"locate=/dev/{failed.name}")
        steps.append(Step(f"Light the locate LED of {slot.label()}: the failed drive, serial {failed.serial}",
                          " ".join(argv), (argv,), failed.name, failed.serial, optional=True))
    return steps


def _removals(pairings: tuple[Pairing, ...], failed: Disk) -> list[Step]:
    steps = []
    for pairing in pairings:
        if pairing.failed is None:
            continue
        device = f"/dev/{pairing.failed}"
        if not pairing.failed_flagged:
            steps.append(_mdadm(f"Mark {pairing.failed} of {pairing.array} faulty (it lives on the failing drive "
                                f"serial {failed.serial or 'unknown'})", pairing.array, "--fail", device, failed))
        steps.append(_mdadm(f"Remove {pairing.failed} from {pairing.array} (drive serial {failed.serial or 'unknown'})",
                            pairing.array, "--remove", device, failed))
    return steps


def _mdadm(title: str, array: str, action: str, device: str, disk: Disk) -> Step:
    argv = ("mdadm", "--manage", f"/dev/{array}", action, device)
    return Step(title, " ".join(argv), (argv,), disk.name, disk.serial, destructive=True)


def _swap(failed: Disk, survivor: Disk, new: Disk | None, slot: Slot | None) -> Step:
    serial = failed.serial or "unknown (use the serials of the other drives to exclude them)"
    if slot is not None:
        serial += f" in {slot.label()}" + (" (its locate LED is lit)" if slot.locate else "")
    if new is not None and new.name != failed.name:
        return Step(f"Take out the old drive with serial {serial} when convenient; never the one with serial "
                    f"{survivor.serial or 'unknown'} (/dev/{survivor.name}).", manual=True)
    return Step(f"Swap the drive with serial {serial} for the new one; do NOT pull serial "
                f"{survivor.serial or 'unknown'} (/dev/{survivor.name}).", manual=True)


def _copy_table(survivor: Disk, new: Disk, label: Label | None) -> list[Step]:
    if label is not None and label.kind == "gpt":
        replicate = ("sgdisk", f"--replicate=/dev/{new.name}", f"/dev/{survivor.name}")
        randomize = ("sgdisk", "--randomize-guids", f"/dev/{new.name}")
        steps = [Step(f"Copy the GPT of /dev/{survivor.name} to the new drive {new.label()}", " ".join(replicate),
                      (replicate,), new.name, new.serial, destructive=True),
                 Step(f"Give the copy on {new.label()} its own disk and partition GUIDs", " ".join(randomize),
                      (randomize,), new.name, new.serial, destructive=True)]
    else:
        copy = (("sfdisk", "-d", f"/dev/{survivor.name}"), ("sfdisk", f"/dev/{new.name}"))
        steps = [Step(f"Copy the partition table of /dev/{survivor.name} to the new drive {new.label()} "
                      "(fresh disk and partition IDs)", f"sfdisk -d /dev/{survivor.name} | sfdisk /dev/{new.name}",
                      copy, new.name, new.serial, destructive=True)]
    reread = ("partx", "--update", f"/dev/{new.name}")  # BLKPG: works where BLKRRPART is refused
    steps.append(Step(f"Make the kernel read the new partition table of {new.label()}", " ".join(reread),
                      (reread,), new.name, new.serial))
    return steps


def _efi_steps(mdstat: MdStat, survivor: Disk, new: Disk, label: Label | None, boot: tuple[BootEntry, ...],
               warnings: list[str]) -> list[Step]:
    """Copy the survivor's ESP to the new drive's twin partition and add a boot entry for the
    same loader on it, so the machine still boots when the survivor is the next to die."""
    esp = label.esp if label is not None else None
    if esp is None:
        return [Step("UEFI machine: the survivor's EFI system partition could not be found (partition table "
                     f"of /dev/{survivor.name} unreadable or without an ESP); copy it to the new drive and add a "
                     "boot entry by hand (dd the ESP, then efibootmgr --create --disk ... --part ... --loader ...)",
                     manual=True)]
    source = partition_name(survivor.name, esp.number)
    target = partition_name(new.name, esp.number)
    steps = []
    if any(source == m.device for a in mdstat.arrays for m in a.members):
        warnings.append(f"the ESP {source} is an md member; md copies it with the array")
    else:
        copy = ("dd", f"if=/dev/{source}", f"of=/dev/{target}", "bs=1M", "conv=fsync", "status=none")
        fresh = ("fatlabel", "--volume-id", "--reset", f"/dev/{target}")
        steps += [Step(f"Copy the EFI system partition {source} to {target} on {new.label()}", " ".join(copy),
                       (copy,), new.name, new.serial, destructive=True),
                  Step(f"Give the ESP copy {target} its own FAT volume id (fstab mounts /boot/efi by it)",
                       " ".join(fresh), (fresh,), new.name, new.serial, destructive=True)]
    entry = _boot_entry_for(esp, label, boot)
    if entry is None or not entry.loader:
        warnings.append(f"no UEFI boot entry points at {source}: add one for {target} by hand")
        steps.append(Step(f"No boot entry starts a loader from {source}; add one for {target} with efibootmgr "
                          "--create --disk ... --part ... --loader ... naming the loader the machine uses",
                          manual=True))
        return steps
    name = f"{entry.description} ({new.name} {new.serial})"[:64]
    create = ("efibootmgr", "--create", "--disk", f"/dev/{new.name}", "--part", str(esp.number),
              "--label", name, "--loader", entry.loader)
    steps.append(Step(f"Add a UEFI boot entry for {entry.loader} on {target} (like Boot{entry.number} "
                      f"{entry.description!r} on {source})", " ".join(create), (create,), new.name, new.serial,
                      destructive=True))
    return steps


def _boot_entry_for(esp: Partition, label: Label | None, boot: tuple[BootEntry, ...]) -> BootEntry | None:
    for entry in boot:
        if esp.uuid is not None and entry.partition_uuid == esp.uuid:
            return entry
        if (esp.uuid is None and label is not None and entry.mbr_signature == label.disk_id
                and entry.partition_number == esp.number):
            return entry
    return None


def _rebuild_steps(mdstat: MdStat, pairings: tuple[Pairing, ...], survivor: Disk, new: Disk, uefi: bool,
                   warnings: list[str], label: Label | None = None, boot: tuple[BootEntry, ...] = ()) -> list[Step]:
    steps = _copy_table(survivor, new, label)
    for pairing in pairings:
        argv = ("mdadm", "--manage", f"/dev/{pairing.array}", "--add", f"/dev/{pairing.new}")
        steps.append(Step(f"Add {pairing.new} to {pairing.array} (twin of {pairing.survivor}; drive serial "
                          f"{new.serial})", " ".join(argv), (argv,), new.name, new.serial, destructive=True))
    in_arrays = {p.survivor for p in pairings}
    esp = label.esp if label is not None else None
    if esp is not None:
        in_arrays.add(partition_name(survivor.name, esp.number))  # copied by its own step
    for partition in survivor.partitions:
        if partition not in in_arrays and not any(partition in (m.device for m in a.members) for a in mdstat.arrays):
            twin = partition_name(new.name, _trailing_number(partition))
            warnings.append(f"{partition} is in no md array (swap?): recreate its content on {twin} by hand, "
                            f"e.g. `mkswap {'/dev/' + twin}` and the matching /etc/fstab entry")
    # The bootloader goes on before the (hours long) rebuild is followed, so interrupting the
    # watch cannot leave the new drive unbootable: GRUB only needs the array readable.
    if uefi:
        steps.extend(_efi_steps(mdstat, survivor, new, label, boot, warnings))
    else:
        for disk in (survivor, new):
            grub = ("grub-install", f"/dev/{disk.name}")
            steps.append(Step(f"Install the bootloader on {disk.label()} so either drive boots",
                              " ".join(grub), (grub,), disk.name, disk.serial, destructive=True))
    sizes = {a.name: a.blocks for a in mdstat.arrays}
    gib = sum(sizes.get(p.array, 0) for p in pairings) / 1024**2  # mdstat blocks are KiB
    steps.append(Step(f"Follow the rebuild of {', '.join(p.array for p in pairings)} ({gib:.0f} GiB to copy) until "
                      "every array is whole again; the ETA is the kernel's", "yamori raid status", follow=True))
    return steps
