"""[probes.*]: per-probe switches, intervals and thresholds."""

from __future__ import annotations

from pydantic import Field

from .types import Duration, Section


class ProbeSettings(Section):
    enabled: bool = Field(True, description="run this probe")
    interval: Duration = Field(60.0, description="how often it runs")
    timeout: Duration = Field(10.0, description="how long one run may take before it is UNKNOWN")


class RaidSettings(ProbeSettings):
    interval: Duration = Field(60.0, description="polling fallback; changes to /proc/mdstat wake the probe at once")
    mdadm: bool = Field(True, description="also run `mdadm --detail` when it is installed")
    watch: bool = Field(True, description="wake on /proc/mdstat changes with poll(), as mdadm --monitor does")


class ConntrackSettings(ProbeSettings):
    warning_percent: float = Field(80.0, description="WARNING when the table is this full")
    critical_percent: float = Field(95.0, description="CRITICAL when the table is this full")


class HwmonSettings(ProbeSettings):
    interval: Duration = Field(30.0, description="how often sensors are read")


class SystemSettings(ProbeSettings):
    interval: Duration = Field(60.0, description="how often host metrics are read")
    ignore_devices: list[str] = Field(
        ["loop*", "ram*", "zram*", "fd*", "sr*"],
        description="block devices not reported (shell patterns); partitions are always folded into their disk")
    ignore_interfaces: list[str] = Field(["lo"], description="network interfaces not reported (shell patterns)")


class ProbesSettings(Section):
    system: SystemSettings = Field(default_factory=SystemSettings)
    hwmon: HwmonSettings = Field(default_factory=HwmonSettings)
    raid: RaidSettings = Field(default_factory=RaidSettings)
    conntrack: ConntrackSettings = Field(default_factory=ConntrackSettings)
