"""From parsed arrays to what people and machines read: Samples, Findings, and the JSON view.

Pure functions (no I/O): the probe and `yamori raid status` share them so the agent's alert
and the command line always say the same thing.
"""

from __future__ import annotations

import re
from typing import Any

from ..records import Finding, Sample, Severity
from .metrics import unit
from .model import Array, MdStat, Member, Sync

# sdf3 -> sdf; nvme0n1p2 -> nvme0n1; mmcblk0p1 -> mmcblk0; cciss/c0d0p1 -> cciss/c0d0.
_PARTITION_P = re.compile(r"^(?P<disk>.*\d)p\d+$")
_PARTITION = re.compile(r"^(?P<disk>.*\D)\d+$")
_WHOLE_WITH_DIGIT = re.compile(r"^(nvme\d+n\d+|mmcblk\d+|loop\d+|md\d+|dm-\d+|c\d+d\d+|cciss/c\d+d\d+)$")


def parent_disk(device: str) -> str:
    """The whole disk a member partition lives on, guessed from the kernel name.

    A guess from the name only; `replace.py` confirms it in sysfs before acting.
    """
    if _WHOLE_WITH_DIGIT.match(device):
        return device
    if (match := _PARTITION_P.match(device)) and _WHOLE_WITH_DIGIT.match(match["disk"]):
        return match["disk"]
    if match := _PARTITION.match(device):
        return match["disk"]
    return device


def identify_commands(disk: str) -> str:
    """The commands that show which physical drive /dev/<disk> is (its serial number)."""
    return (f"`smartctl -i /dev/{disk}`, `ls -l /dev/disk/by-id/ | grep {disk}`, "
            f"`udevadm info --query=property --name=/dev/{disk} | grep ID_SERIAL`")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def describe_sync(sync: Sync) -> str:
    if sync.status == "delayed":
        return f"{sync.action} delayed (waits for another array sharing the same disks)"
    if sync.status == "pending":
        return f"{sync.action} pending (starts with the first write to the auto-read-only array)"
    if sync.status != "running":
        return f"{sync.action} {sync.status}"
    speed = f" at {sync.speed_kib_s} KiB/s" if sync.speed_kib_s is not None else ""
    return f"{sync.action} {sync.percent:g}%{speed}, about {_duration(sync.eta_seconds)} left"


def _slots_text(array: Array) -> str:
    return f"[{array.raid_disks}/{array.working_disks}] [{array.slots}]" if array.slots is not None else ""


def _member_text(member: Member) -> str:
    return f"{member.device}[{member.slot}]" + "".join(f"({f})" for f in member.flags)


# ---------------------------------------------------------------- findings


def array_findings(array: Array, previous: tuple[str, ...] = (), uuid: str | None = None) -> list[Finding]:
    """Findings for one array. `previous`: member devices seen on the last read, so a member
    that was removed (no longer listed at all) can still be named."""
    findings: list[Finding] = []
    if not array.active and not array.container:
        findings.append(_inactive(array, uuid))
    if array.degraded:
        findings.append(_degraded(array, previous, uuid))
    findings.extend(_failed_member(array, m) for m in array.failed if not array.degraded)
    if array.activity is not None:
        findings.append(Finding("raid.sync", Severity.INFO, array.name,
                                f"{array.name} ({array.level}): {describe_sync(array.activity)}"))
    return findings


def _title(array: Array, uuid: str | None) -> str:
    level = array.level or "no personality"
    return f"{array.name} ({level}{', UUID ' + uuid if uuid else ''})"


def _inactive(array: Array, uuid: str | None) -> Finding:
    members = " ".join(_member_text(m) for m in array.members) or "none"
    return Finding(
        "raid.inactive", Severity.CRITICAL, array.name,
        f"{_title(array, uuid)} is inactive: assembled but not running, its data is not available; "
        f"members: {members}",
        f"See why with `mdadm --detail /dev/{array.name}` and `mdadm --examine` on each member "
        f"(event counts that differ show which member is stale); if all members are present, "
        f"`mdadm --run /dev/{array.name}` starts it. Do not --create or --force before reading them.",
    )


def _degraded(array: Array, previous: tuple[str, ...], uuid: str | None) -> Finding:
    failed = [m.device for m in array.failed]
    present = {m.device for m in array.members}
    removed = [d for d in previous if d not in present]
    survivors = [m.device for m in array.data_members]
    parts = [f"{_title(array, uuid)} is degraded {_slots_text(array)}".rstrip()]
    if failed:
        parts.append(f"failed member: {', '.join(failed)} (F)")
    if removed:
        parts.append(f"removed member: {', '.join(removed)}")
    if not failed and not removed and array.missing_roles:
        parts.append(f"role slot {', '.join(map(str, array.missing_roles))} has no working member")
    if array.sync is not None:
        parts.append(describe_sync(array.sync))
    # While a member rebuilds it is listed without a flag, so "working on X" is only said
    # when the listed members are exactly the working ones.
    on = f" on {', '.join(survivors)}" if survivors and len(survivors) == array.active_disks else ""
    parts.append(f"{array.active_disks} of {array.total_disks} members working ({array.health_percent:g}%){on}")
    advice = _degraded_advice(array, failed + removed)
    return Finding("raid.degraded", Severity.CRITICAL, array.name, "; ".join(parts), advice)


def _degraded_advice(array: Array, broken: list[str]) -> str:
    if array.sync is not None and array.sync.action in ("recovery", "reshape"):
        return (f"The array is rebuilding; follow it with `yamori raid status` or `cat /proc/mdstat`. "
                f"Do not remove the surviving disk until [{'U' * (array.raid_disks or 0)}] is back.")
    if not broken:
        survivors = sorted({parent_disk(m.device) for m in array.data_members})
        return ("The failed member is no longer listed. Find the missing disk by comparing "
                f"`ls -l /dev/disk/by-id/` with the surviving disks ({', '.join(survivors)}) and "
                f"`mdadm --detail /dev/{array.name}`; then replace it: "
                f"`yamori raid replace {array.name} --failed DISK` shows the plan.")
    disks = sorted({parent_disk(d) for d in broken})
    steps = [f"Identify the physical drive of /dev/{d} by its serial number: {identify_commands(d)}." for d in disks]
    steps.append(f"Then `yamori raid replace {array.name} --failed {disks[0]}` prints the replacement plan "
                 "(dry-run: remove, partition the new disk like the survivor, add, rebuild, bootloader).")
    return " ".join(steps)


def _failed_member(array: Array, member: Member) -> Finding:
    disk = parent_disk(member.device)
    return Finding(
        "raid.failed_member", Severity.WARNING, f"{array.name}/{member.device}",
        f"{member.device} in {array.name} ({array.level}) is marked faulty (F); the array still has "
        f"all its members working {_slots_text(array)}".rstrip(),
        f"Identify the drive: {identify_commands(disk)}; remove the member with "
        f"`mdadm --manage /dev/{array.name} --remove /dev/{member.device}` and replace the disk.",
    )


# ---------------------------------------------------------------- samples


def array_samples(array: Array) -> list[Sample]:
    labels = {"array": array.name}
    values = {
        "raid_health_percent": array.health_percent,
        "raid_disks": array.total_disks,
        "raid_active_disks": array.active_disks,
        "raid_degraded": int(array.degraded),
        "raid_inactive": int(not array.active and not array.container),
        "raid_failed_disks": len(array.failed),
        "raid_spare_disks": len(array.spares),
    }
    samples = [Sample(name, float(value), dict(labels), unit(name)) for name, value in values.items()]
    sync = array.sync
    if sync is not None and sync.percent is not None:
        sync_labels = {"array": array.name, "action": sync.action}
        samples.append(Sample("raid_sync_percent", sync.percent, sync_labels, unit("raid_sync_percent")))
        if sync.speed_kib_s is not None:
            samples.append(Sample("raid_sync_speed_kib_s", float(sync.speed_kib_s), dict(sync_labels),
                                  unit("raid_sync_speed_kib_s")))
        if sync.eta_seconds is not None:
            samples.append(Sample("raid_sync_eta_seconds", float(sync.eta_seconds), dict(sync_labels),
                                  unit("raid_sync_eta_seconds")))
    return samples


# ---------------------------------------------------------------- JSON


def array_json(array: Array) -> dict[str, Any]:
    activity = array.activity
    return {
        "name": array.name,
        "level": array.level,
        "state": array.state,
        "raid_disks": array.total_disks,
        "active_disks": array.active_disks,
        "health_percent": array.health_percent,
        "degraded": array.degraded,
        "members": [{"device": m.device, "slot": m.slot, "flags": list(m.flags)} for m in array.members],
        "failed": [m.device for m in array.failed],
        "spares": [m.device for m in array.spares],
        "sync": None if activity is None else {
            "action": activity.action,
            "percent": activity.percent,
            "speed_kib_s": activity.speed_kib_s,
            "eta_seconds": activity.eta_seconds,
            "status": activity.status,
        },
        "container": array.container,
        "metadata": array.metadata,
        "slots": array.slots,
        "blocks": array.blocks,
    }


def mdstat_json(mdstat: MdStat) -> dict[str, Any]:
    return {
        "arrays": [array_json(a) for a in mdstat.arrays],
        "personalities": list(mdstat.personalities),
        "notes": [{"line": n.line, "text": n.text, "reason": n.reason} for n in mdstat.notes],
    }
