"""Humidity sensors the kernel exposes through hwmon (sht3x, sht4x, hdc2010, si7020, dht11...).

The sysfs interface gives `humidityN_input` in milli-percent RH and the same chip's
`tempN_input` in milli-degrees (Documentation/hwmon/sysfs-interface.rst). `pair_readings` is pure
over the attribute texts; `read_hwmon_humidity` is the thin reader over `<sys>/class/hwmon`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .envelope import Reading, ReadingError, check_reading

_HUMIDITY = re.compile(r"^humidity(\d+)_input$")
_TEMPERATURE = re.compile(r"^temp(\d+)_input$")


@dataclass(frozen=True, slots=True)
class HwmonReading:
    name: str                 # chip name, plus the channel when a chip has several: sht3x-humidity2
    reading: Reading | None
    problem: str | None = None


def pair_readings(chip: str, attributes: Mapping[str, str]) -> list[HwmonReading]:
    """humidityN with tempN of the same chip (temp1 when the chip has no tempN)."""
    humidity = {int(m[1]): text for key, text in attributes.items() if (m := _HUMIDITY.match(key))}
    temperature = {int(m[1]): text for key, text in attributes.items() if (m := _TEMPERATURE.match(key))}
    result: list[HwmonReading] = []
    for channel in sorted(humidity):
        name = chip if len(humidity) == 1 else f"{chip}-humidity{channel}"
        temp_text = temperature.get(channel, temperature.get(1))
        if temp_text is None:
            result.append(HwmonReading(name, None, f"humidity{channel}: the chip reports no temperature to pair with"))
            continue
        try:
            reading = check_reading(int(temp_text) / 1000.0, int(humidity[channel]) / 1000.0)
        except (ValueError, ReadingError) as err:
            result.append(HwmonReading(name, None, f"humidity{channel}: {str(err)[:200]}"))
            continue
        result.append(HwmonReading(name, reading))
    return result


# -- reader ---------------------------------------------------------------------------------


def read_hwmon_humidity(sys_root: Path) -> list[HwmonReading]:
    base = sys_root / "class" / "hwmon"
    try:
        chips = sorted(entry for entry in os.listdir(base) if entry.startswith("hwmon"))
    except OSError:
        return []
    result: list[HwmonReading] = []
    for entry in chips:
        folder = base / entry
        try:
            names = [n for n in os.listdir(folder) if _HUMIDITY.match(n) or _TEMPERATURE.match(n) or n == "name"]
        except OSError:
            continue
        if not any(_HUMIDITY.match(n) for n in names):
            continue
        attributes: dict[str, str] = {}
        for name in names:
            try:
                attributes[name] = (folder / name).read_text(encoding="ascii", errors="replace").strip()
            except OSError as err:  # EIO from a sensor that stopped answering
                attributes[name] = f"unreadable ({err.strerror})"
        chip = attributes.pop("name", entry) or entry
        result.extend(pair_readings(f"{chip}-{entry}" if chip != entry else entry, attributes))
    return result


def has_humidity(sys_root: Path) -> bool:
    base = sys_root / "class" / "hwmon"
    try:
        return any(_HUMIDITY.match(n) for entry in os.listdir(base) for n in _listdir(base / entry))
    except OSError:
        return False


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []
