"""Every metric the raid probe emits, described once (name -> unit and help text)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    unit: str
    help: str


METRICS: dict[str, Metric] = {
    "raid_health_percent": Metric("percent", "working members of the md array against the members it should have"),
    "raid_disks": Metric("", "members the md array should have (raid_disks, [n/m] n)"),
    "raid_active_disks": Metric("", "members of the md array that are in sync and working"),
    "raid_degraded": Metric("", "1 when the md array runs with fewer working members than it should"),
    "raid_inactive": Metric("", "1 when the md array is inactive (assembled but not running)"),
    "raid_failed_disks": Metric("", "members the kernel marked faulty (F)"),
    "raid_spare_disks": Metric("", "spare members (S) waiting to replace a failed one"),
    "raid_sync_percent": Metric("percent", "progress of a running resync, recovery, check, repair or reshape"),
    "raid_sync_speed_kib_s": Metric("KiB/s", "speed of the running resync/recovery/check/reshape"),
    "raid_sync_eta_seconds": Metric("seconds", "time the kernel expects the running sync to need"),
}


def unit(metric: str) -> str:
    return METRICS[metric].unit
