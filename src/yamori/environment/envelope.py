"""The ASHRAE thermal envelope and the psychrometrics it needs: pure functions, no I/O.

Inlet air is judged by three figures, not one (incident 13): dry-bulb temperature, relative
humidity and dew point. Air at 27 °C and 60 % RH meets both of the recommended envelope's
temperature and RH bounds, yet its dew point (~18.6 °C) is above the recommended 15 °C: the
moisture itself is too high. The figures live in `ashrae.json` beside this module, with the
edition they come from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..records import Severity

# Magnus formula coefficients over water (Sonntag 1990, as the WMO guide gives them): within
# 0.35 °C of the exact value from -45 to 60 °C, far wider than any machine room.
MAGNUS_A = 17.62
MAGNUS_B = 243.12
PLAUSIBLE_CELSIUS = (-40.0, 80.0)


class ReadingError(ValueError):
    """A temperature or humidity no real sensor in a room can report."""


@dataclass(frozen=True, slots=True)
class Reading:
    temperature: float  # dry bulb, °C
    humidity: float     # relative, %


def check_reading(temperature: float, humidity: float) -> Reading:
    if not math.isfinite(temperature) or not PLAUSIBLE_CELSIUS[0] <= temperature <= PLAUSIBLE_CELSIUS[1]:
        raise ReadingError(f"temperature {temperature!r} °C is not a plausible room reading "
                           f"({PLAUSIBLE_CELSIUS[0]:g}..{PLAUSIBLE_CELSIUS[1]:g} °C)")
    if not math.isfinite(humidity) or not 0.0 < humidity <= 100.0:
        raise ReadingError(f"relative humidity {humidity!r} % is outside 0 < RH <= 100")
    return Reading(temperature, humidity)


def dew_point(temperature: float, humidity: float) -> float:
    """Dew point in °C from dry bulb (°C) and relative humidity (%), by the Magnus formula.

    Never above the dry bulb: at 100 % RH they are equal (rounding could put it a hair over)."""
    if not 0.0 < humidity <= 100.0:
        raise ReadingError(f"relative humidity {humidity!r} % is outside 0 < RH <= 100")
    gamma = math.log(humidity / 100.0) + MAGNUS_A * temperature / (MAGNUS_B + temperature)
    return min(MAGNUS_B * gamma / (MAGNUS_A - gamma), temperature)


@dataclass(frozen=True, slots=True)
class Band:
    """One envelope: dry bulb range, dew point range, RH range (None = no bound)."""

    name: str
    dry_bulb: tuple[float, float]
    dew_point: tuple[float | None, float | None]
    humidity: tuple[float | None, float | None]

    def violations(self, reading: Reading, dew: float) -> list[str]:
        """What is outside this band, in words; empty when the air is inside it."""
        found: list[str] = []
        for label, value, (low, high), unit in (("temperature", reading.temperature, self.dry_bulb, "°C"),
                                                ("dew point", dew, self.dew_point, "°C"),
                                                ("RH", reading.humidity, self.humidity, "%")):
            if low is not None and value < low:
                found.append(f"{label} {value:.1f} {unit} below {low:g} {unit}")
            elif high is not None and value > high:
                found.append(f"{label} {value:.1f} {unit} above {high:g} {unit}")
        # The lower moisture limit is "-12 °C DP and 8 % RH": air is too dry when it is under
        # either, which the per-figure test above already says; nothing more to combine.
        return found


@dataclass(frozen=True, slots=True)
class Envelope:
    source: str
    recommended: Band
    allowable: dict[str, Band]


@dataclass(frozen=True, slots=True)
class Assessment:
    reading: Reading
    dew_point: float
    severity: Severity | None      # None: inside the recommended envelope
    reasons: tuple[str, ...]

    def describe(self) -> str:
        return (f"{self.reading.temperature:.1f} °C, RH {self.reading.humidity:.0f} %, "
                f"dew point {self.dew_point:.1f} °C")


def parse_envelope(data: dict[str, object]) -> Envelope:
    recommended = _dict(data["recommended"])
    rec = Band("recommended", _pair(recommended["dry_bulb_celsius"]), _pair(recommended["dew_point_celsius"]),
               (None, float(_num(recommended["relative_humidity_max_percent"]))))
    classes: dict[str, Band] = {}
    for name, raw in _dict(data["allowable"]).items():
        entry = _dict(raw)
        classes[name] = Band(f"allowable {name}", _pair(entry["dry_bulb_celsius"]),
                             (_num(entry["dew_point_min_celsius"]), _num(entry["dew_point_max_celsius"])),
                             (_num(entry["relative_humidity_min_percent"]),
                              _num(entry["relative_humidity_max_percent"])))
    return Envelope(str(data["source"]), rec, classes)


@cache
def ashrae() -> Envelope:
    """The envelope shipped with yamori (see ashrae.json for the edition)."""
    text = resources.files(__package__).joinpath("ashrae.json").read_text(encoding="utf-8")
    return parse_envelope(json.loads(text))


def assess(reading: Reading, equipment_class: str, envelope: Envelope | None = None) -> Assessment:
    """CRITICAL outside the class's allowable envelope, WARNING outside the recommended one."""
    envelope = envelope or ashrae()
    dew = dew_point(reading.temperature, reading.humidity)
    allowable = envelope.allowable[equipment_class].violations(reading, dew)
    if allowable:
        return Assessment(reading, dew, Severity.CRITICAL, tuple(allowable))
    recommended = envelope.recommended.violations(reading, dew)
    return Assessment(reading, dew, Severity.WARNING if recommended else None, tuple(recommended))


def _dict(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValueError("ashrae.json: expected an object")
    return value


def _num(value: object) -> float:
    if not isinstance(value, int | float):
        raise ValueError(f"ashrae.json: expected a number, got {value!r}")
    return float(value)


def _pair(value: object) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"ashrae.json: expected [low, high], got {value!r}")
    return _num(value[0]), _num(value[1])
