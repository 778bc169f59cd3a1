"""The `environment` probe: every declared sensor (and hwmon humidity sensors) against the
ASHRAE envelope of the declared equipment class.

Findings: `env.envelope` (subject: the sensor's name; message: temperature, RH and dew point)
WARNING outside the recommended envelope, CRITICAL outside the class's allowable one;
`env.sensor_unreadable` (WARNING) when a sensor cannot be read or says something unusable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..config import Settings
from ..config.environment import EnvironmentSettings, SensorEntry
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .envelope import Assessment, Reading, assess
from .hwmon_humidity import has_humidity, read_hwmon_humidity
from .metrics import unit
from .sensors import SensorError, read_sensor

ENVELOPE_ADVICE = {
    Severity.WARNING: (
        "The inlet air is outside ASHRAE's recommended envelope: equipment runs, but wears faster and "
        "fails more often. Too warm: check the cooling, blanking panels and hot/cold aisle separation. "
        "Dew point or RH too high: check dehumidification. Too dry: static discharge risk; humidify."),
    Severity.CRITICAL: (
        "The inlet air is outside the allowable envelope of the equipment class: the vendors no longer "
        "promise it works. Fix the cooling or humidity now, or shed load / shut down cleanly before the "
        "servers do it themselves."),
}
UNREADABLE_ADVICE = ("Check that the sensor is powered and reachable and that temperature_key and humidity_key "
                     "name the fields it reports (°C and % RH).")


def envelope_finding(name: str, assessment: Assessment, equipment_class: str) -> Finding | None:
    if assessment.severity is None:
        return None
    band = "recommended" if assessment.severity == Severity.WARNING else f"allowable ({equipment_class})"
    message = (f"inlet air {assessment.describe()}: outside the {band} envelope "
               f"({'; '.join(assessment.reasons)})")
    return Finding("env.envelope", assessment.severity, name, message, ENVELOPE_ADVICE[assessment.severity])


def reading_records(name: str, rack: str, reading: Reading, equipment_class: str) -> list[Record]:
    assessment = assess(reading, equipment_class)
    labels = {"sensor": name, **({"rack": rack} if rack else {})}
    records: list[Record] = [
        Sample(metric, value, labels, unit(metric))
        for metric, value in (("env_temperature_celsius", reading.temperature),
                              ("env_humidity_percent", reading.humidity),
                              ("env_dew_point_celsius", round(assessment.dew_point, 2)))]
    finding = envelope_finding(name, assessment, equipment_class)
    if finding is not None:
        records.append(finding)
    return records


class EnvironmentProbe(Probe):
    name = "environment"

    def __init__(self, settings: EnvironmentSettings, sys_root: Path | None = None) -> None:
        self.settings = settings
        self.interval = settings.interval
        # every sensor is read concurrently within its own timeout; leave room for the slowest
        self.timeout = settings.timeout + 5.0
        self.sys_root = sys_root

    async def collect_async(self) -> list[Record]:
        sensors = self.settings.sensors
        results = await asyncio.gather(*(self._one(sensor) for sensor in sensors))
        records = [record for group in results for record in group]
        if self.sys_root is not None:
            records.extend(await asyncio.to_thread(self._hwmon))
        return records

    async def _one(self, sensor: SensorEntry) -> list[Record]:
        try:
            reading = await read_sensor(sensor, self.settings.timeout)
        except SensorError as err:
            return [Finding("env.sensor_unreadable", Severity.WARNING, sensor.name, str(err), UNREADABLE_ADVICE,
                            file=str(sensor.path) if sensor.kind == "file" else None)]
        return reading_records(sensor.name, sensor.rack, reading, self.settings.equipment_class)

    def _hwmon(self) -> list[Record]:
        assert self.sys_root is not None
        records: list[Record] = []
        for found in read_hwmon_humidity(self.sys_root):
            if found.reading is None:
                records.append(Finding("env.sensor_unreadable", Severity.WARNING, found.name,
                                       f"hwmon sensor {found.name}: {found.problem}", UNREADABLE_ADVICE))
            else:
                records.extend(reading_records(found.name, "", found.reading, self.settings.equipment_class))
        return records


def probes(settings: Settings) -> list[Probe]:
    section = settings.environment
    sys_root = Path(settings.agent.sys) if section.hwmon_humidity and has_humidity(Path(settings.agent.sys)) else None
    if not section.sensors and sys_root is None:
        return []
    return [EnvironmentProbe(section, sys_root)]
