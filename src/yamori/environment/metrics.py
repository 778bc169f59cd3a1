"""Every metric the environment, ups, smart and lifecycle probes emit, described once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    unit: str
    help: str


METRICS: dict[str, Metric] = {
    # environment
    "env_temperature_celsius": Metric("celsius", "dry-bulb air temperature a room sensor reports"),
    "env_humidity_percent": Metric("percent", "relative humidity a room sensor reports"),
    "env_dew_point_celsius": Metric("celsius", "dew point computed from temperature and RH (Magnus formula)"),
    # ups
    "ups_on_battery": Metric("", "1 when the UPS runs on its battery (NUT status OB)"),
    "ups_battery_charge_percent": Metric("percent", "battery charge the UPS reports"),
    "ups_runtime_seconds": Metric("seconds", "runtime left on battery at the present load, as the UPS estimates"),
    "ups_load_percent": Metric("percent", "load on the UPS against its rating"),
    "ups_self_test_age_seconds": Metric("seconds", "time since the UPS's last self-test"),
    "ups_battery_age_seconds": Metric("seconds", "time since the battery date (installed or manufactured)"),
    # smart
    "smart_healthy": Metric("", "1 when the disk's own SMART overall assessment passed"),
    "smart_reallocated_sectors": Metric("", "sectors the disk remapped to spares (SMART 5)"),
    "smart_pending_sectors": Metric("", "unstable sectors waiting to be remapped (SMART 197)"),
    "smart_offline_uncorrectable": Metric("", "sectors found unreadable by the offline scan (SMART 198)"),
    "smart_media_errors": Metric("", "NVMe unrecovered data integrity errors"),
    "smart_percentage_used": Metric("percent", "NVMe estimate of endurance used"),
    "smart_temperature_celsius": Metric("celsius", "disk temperature"),
    "smart_power_on_hours": Metric("hours", "hours the disk has been powered on"),
    # lifecycle
    "support_days_left": Metric("days", "days until the vendor's support ends (negative: ended)"),
}


def unit(metric: str) -> str:
    return METRICS[metric].unit
