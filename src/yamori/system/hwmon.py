"""Temperatures and fans from the kernel's hwmon sysfs interface (incident 4: a case fan was
unplugged and the server overheated).

Hand-written because psutil reads a fixed /sys path (no fixture trees) and omits fan*_min and
the alarm files. `parse_chip` is pure over a chip's attribute texts; `read_hwmon` is the thin
reader over `<sys>/class/hwmon/hwmon*/` (and `hwmon*/device/`, where kernels before 3.x and a
few drivers still put the attributes). See Documentation/hwmon/sysfs-interface.rst.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import Settings
from ..config.probes import HwmonSettings
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .metrics import unit

_ATTRIBUTE = re.compile(r"^(temp|fan)(\d+)_(input|label|max|crit|min|alarm|max_alarm|crit_alarm)$")
_HWMON_DIR = re.compile(r"^hwmon(\d+)$")

# A disconnected thermistor on Nuvoton/ITE chips reads -128 or +127 degrees; no running
# machine reports either, so such a reading is noted and ignored rather than raising an alarm.
_PLAUSIBLE_CELSIUS = (-60.0, 127.0)
# Drivers report "no limit" as 0 or as a huge sentinel (nvme: 65261.85 = 0xffff kelvin).
_PLAUSIBLE_LIMIT = (0.0, 200.0)

AttributeText = str | OSError


@dataclass(frozen=True, slots=True)
class Temperature:
    sensor: str
    celsius: float | None
    max_celsius: float | None = None
    crit_celsius: float | None = None
    alarm: bool = False


@dataclass(frozen=True, slots=True)
class Fan:
    fan: str
    rpm: int | None
    min_rpm: int | None = None
    alarm: bool = False


@dataclass(frozen=True, slots=True)
class Chip:
    """One hwmon device. `name` is unique on this machine (the driver's name, plus the device
    when two chips share it, e.g. two `nvme` drives); `driver` is the raw `name` file."""

    name: str
    driver: str
    path: str
    device: str | None = None
    temperatures: tuple[Temperature, ...] = ()
    fans: tuple[Fan, ...] = ()
    notes: tuple[str, ...] = ()


class _Notes(list[str]):
    def failed(self, attribute: str, problem: object) -> None:
        reason = problem.strerror if isinstance(problem, OSError) and problem.strerror else problem
        self.append(f"{attribute}: {reason}")


def parse_chip(path: str, attributes: Mapping[str, AttributeText], device: str | None = None) -> Chip:
    """Build a Chip from its attribute texts (`temp1_input` -> "45000"); an OSError value marks an
    attribute that could not be read. Unusable values become notes, never exceptions."""
    notes = _Notes()
    driver = _text(attributes, "name", notes) or path
    groups: dict[tuple[str, int], dict[str, AttributeText]] = {}
    for key, value in attributes.items():
        match = _ATTRIBUTE.match(key)
        if match:
            groups.setdefault((match[1], int(match[2])), {})[match[3]] = value
    temperatures = [t for (kind, n), g in sorted(groups.items()) if kind == "temp"
                    if (t := _temperature(n, g, notes)) is not None]
    fans = [f for (kind, n), g in sorted(groups.items()) if kind == "fan" if (f := _fan(n, g, notes)) is not None]
    sensors = _unique_labels([t.sensor for t in temperatures])
    fan_names = _unique_labels([f.fan for f in fans])
    return Chip(driver, driver, path, device,
                tuple(replace(t, sensor=label) for t, label in zip(temperatures, sensors, strict=True)),
                tuple(replace(f, fan=label) for f, label in zip(fans, fan_names, strict=True)), tuple(notes))


def _temperature(index: int, group: dict[str, AttributeText], notes: _Notes) -> Temperature | None:
    if "input" not in group:
        return None  # limits without a reading (some drivers create them for absent channels)
    key = f"temp{index}"
    celsius = _number(group, "input", key, notes, scale=1000.0)
    if celsius is not None and not _PLAUSIBLE_CELSIUS[0] < celsius < _PLAUSIBLE_CELSIUS[1]:
        notes.append(f"{key}_input: reads {celsius:g} °C, a disconnected sensor; ignored")
        return None
    limits = [_number(group, limit, key, notes, scale=1000.0) for limit in ("max", "crit")]
    max_c, crit_c = (v if v is not None and _PLAUSIBLE_LIMIT[0] < v < _PLAUSIBLE_LIMIT[1] else None for v in limits)
    alarm = any(_flag(group, name, key, notes) for name in ("alarm", "max_alarm", "crit_alarm"))
    label = _text(group, "label", notes, f"{key}_label") or key
    return Temperature(label, celsius, max_c, crit_c, alarm)


def _fan(index: int, group: dict[str, AttributeText], notes: _Notes) -> Fan | None:
    if "input" not in group:
        return None
    key = f"fan{index}"
    rpm = _number(group, "input", key, notes)
    minimum = _number(group, "min", key, notes)
    label = _text(group, "label", notes, f"{key}_label") or key
    return Fan(label, None if rpm is None else int(rpm), None if minimum is None else int(minimum),
               _flag(group, "alarm", key, notes))


def _text(group: Mapping[str, AttributeText], name: str, notes: _Notes, shown: str | None = None) -> str | None:
    value = group.get(name)
    if isinstance(value, OSError):
        notes.failed(shown or name, value)
        return None
    return value.strip() or None if value is not None else None


def _number(group: Mapping[str, AttributeText], name: str, key: str, notes: _Notes,
            scale: float = 1.0) -> float | None:
    text = _text(group, name, notes, f"{key}_{name}")
    if text is None:
        return None
    try:
        return int(text) / scale
    except ValueError:
        notes.failed(f"{key}_{name}", f"not a number: {text[:40]!r}")
        return None


def _flag(group: Mapping[str, AttributeText], name: str, key: str, notes: _Notes) -> bool:
    value = _number(group, name, key, notes)
    return value is not None and value != 0


def _unique_labels(labels: list[str]) -> list[str]:
    """Two sensors with the same label (it happens) are kept apart by their position."""
    counts = Counter(labels)
    return [f"{label} #{position}" if counts[label] > 1 else label for position, label in enumerate(labels, 1)]


# --- reader -------------------------------------------------------------------------------


def read_hwmon(sys_root: Path) -> list[Chip]:
    """Every chip under `<sys_root>/class/hwmon`; none (not an error) when the machine has none."""
    base = sys_root / "class" / "hwmon"
    try:
        entries = [entry for entry in base.iterdir() if _HWMON_DIR.match(entry.name)]
    except OSError:
        return []  # no hwmon class at all: a VM, a container, or no sensor driver loaded
    entries.sort(key=lambda entry: int(entry.name.removeprefix("hwmon")))
    return _unique_chip_names([_read_chip(entry) for entry in entries])


def _read_chip(directory: Path) -> Chip:
    attributes: dict[str, AttributeText] = {}
    # hwmonN/device/ first, so hwmonN's own attributes win where both exist (kernels since 3.x
    # put them in hwmonN/; the device's own `name` there may be an i2c client name).
    for folder in (directory / "device", directory):
        for name in _attribute_names(folder):
            attributes[name] = _read(folder / name)
    return parse_chip(directory.name, attributes, _device_name(directory))


def _attribute_names(folder: Path) -> list[str]:
    try:
        return [name for name in os.listdir(folder) if name == "name" or _ATTRIBUTE.match(name)]
    except OSError:
        return []


def _read(path: Path) -> AttributeText:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError as err:  # EIO from a sensor that stopped answering, EACCES, a vanished device
        return err


def _device_name(directory: Path) -> str | None:
    try:  # hwmonN/device -> ../../../coretemp.0 (a relative link: resolve it, then take the name)
        return (directory / "device").resolve(strict=True).name
    except (OSError, RuntimeError):
        return None


def _unique_chip_names(chips: list[Chip]) -> list[Chip]:
    counts = Counter(chip.driver for chip in chips)
    named = [replace(chip, name=f"{chip.driver}-{chip.device or chip.path}") if counts[chip.driver] > 1 else chip
             for chip in chips]
    if len({chip.name for chip in named}) < len(named):  # two chips on one device: fall back to hwmonN
        named = [replace(chip, name=f"{chip.driver}-{chip.path}") if counts[chip.driver] > 1 else chip
                 for chip in chips]
    return named


# --- findings -----------------------------------------------------------------------------

FAN_ADVICE = (
    "A stopped or failing fan lets the machine overheat and shut down. Check that the fan is plugged in "
    "and turning; if it is noisy or failing, replace it (do not just unplug it). Check the airflow too: "
    "dust in filters and heatsinks, blocked vents, the room temperature."
)
OVERHEAT_ADVICE = (
    "Check that every fan is turning (see the fan readings), clean dust from heatsinks and filters, "
    "make sure vents are not blocked and the room is cool enough. If it keeps rising, reduce the load "
    "or shut the machine down cleanly before it shuts itself down."
)


def overheat(chip: Chip, temperature: Temperature) -> Finding | None:
    """CRITICAL when a temperature reaches the chip's own crit or max limit, or the chip raised its alarm."""
    value = temperature.celsius
    where = f"{chip.name} sensor '{temperature.sensor}'"
    if value is not None and temperature.crit_celsius is not None and value >= temperature.crit_celsius:
        message = f"{where} is at {value:g} °C, at or over the chip's critical limit of {temperature.crit_celsius:g} °C"
    elif value is not None and temperature.max_celsius is not None and value >= temperature.max_celsius:
        message = f"{where} is at {value:g} °C, at or over the chip's high limit of {temperature.max_celsius:g} °C"
    elif temperature.alarm:
        now = f"{value:g} °C" if value is not None else "no reading"
        message = f"{where} raised its temperature alarm (now {now})"
    else:
        return None
    return Finding("hwmon.overheat", Severity.CRITICAL, f"{chip.name}/{temperature.sensor}", message, OVERHEAT_ADVICE)


def fan_stopped(chip: Chip, fan: Fan, spinning_rpm: int | None) -> Finding | None:
    """CRITICAL when a fan that had been turning reads 0 RPM, turns under its minimum, or raised its alarm.

    A fan header that has always read 0 is taken as having no fan connected."""
    where = f"{chip.name} fan '{fan.fan}'"
    if fan.rpm == 0 and spinning_rpm:
        message = f"{where} has stopped: it reads 0 RPM and was turning at {spinning_rpm} RPM"
    elif fan.rpm is not None and fan.min_rpm and fan.rpm < fan.min_rpm:
        message = f"{where} turns at {fan.rpm} RPM, under the chip's minimum of {fan.min_rpm} RPM"
    elif fan.alarm:
        now = f"{fan.rpm} RPM" if fan.rpm is not None else "no reading"
        message = f"{where} raised its fan alarm (now {now})"
    else:
        return None
    return Finding("hwmon.fan_stopped", Severity.CRITICAL, f"{chip.name}/{fan.fan}", message, FAN_ADVICE)


# --- probe --------------------------------------------------------------------------------


class HwmonProbe(Probe):
    name = "hwmon"

    def __init__(self, settings: HwmonSettings, sys_root: Path = Path("/sys")) -> None:
        self.interval = settings.interval
        self.timeout = settings.timeout
        self._sys = sys_root
        # Last non-zero speed of every fan seen turning since the agent started: a fan that
        # reads 0 after that has stopped; one that always read 0 has nothing plugged in.
        self._spinning: dict[tuple[str, str], int] = {}

    def collect(self) -> list[Record]:
        chips = read_hwmon(self._sys)
        if not any(chip.temperatures or chip.fans for chip in chips):
            return [Finding("hwmon.no_sensors", Severity.INFO, "hwmon",
                            f"no temperature or fan sensors under {self._sys / 'class/hwmon'} "
                            "(usual in a virtual machine); temperatures and fans are not watched",
                            "On real hardware, load the sensor drivers (`sensors-detect` from lm-sensors "
                            "says which).")]
        records: list[Record] = []
        for chip in chips:
            records.extend(_temperature_records(chip))
            records.extend(self._fan_records(chip))
            if chip.notes:
                records.append(Finding("hwmon.unreadable", Severity.INFO, chip.name,
                                       f"{chip.name} ({chip.path}): some sensor values could not be used: "
                                       + "; ".join(chip.notes)))
        return records

    def _fan_records(self, chip: Chip) -> Iterator[Record]:
        for fan in chip.fans:
            key = (chip.name, fan.fan)
            if fan.rpm is not None:
                yield Sample("fan_rpm", float(fan.rpm), {"chip": chip.name, "fan": fan.fan}, unit("fan_rpm"))
            finding = fan_stopped(chip, fan, self._spinning.get(key))
            if finding is not None:
                yield finding
            if fan.rpm:
                self._spinning[key] = fan.rpm


def _temperature_records(chip: Chip) -> Iterator[Record]:
    for temperature in chip.temperatures:
        labels = {"chip": chip.name, "sensor": temperature.sensor}
        for metric, value in (("temperature_celsius", temperature.celsius),
                              ("temperature_max_celsius", temperature.max_celsius),
                              ("temperature_crit_celsius", temperature.crit_celsius)):
            if value is not None:
                yield Sample(metric, value, labels, unit(metric))
        finding = overheat(chip, temperature)
        if finding is not None:
            yield finding


def probes(settings: Settings) -> list[Probe]:
    if not settings.probes.hwmon.enabled:
        return []
    return [HwmonProbe(settings.probes.hwmon, settings.agent.sys)]
