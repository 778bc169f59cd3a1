"""The `ups` probe: every `[[environment.ups]]` through its upsd.

Findings (subject: the UPS's name): `ups.on_battery` (WARNING, CRITICAL after
`on_battery_grace`), `ups.runtime_short`, `ups.low_charge`, `ups.self_test_failed`,
`ups.unreachable`; also `ups.self_test_old` (INFO) and `ups.battery_old` (WARNING). A UPS
that carries an environment sensor (NUT's ambient.temperature / ambient.humidity) is checked
against the ASHRAE envelope like a declared sensor (`env.envelope`, subject `<ups>-ambient`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ..config import Settings
from ..config.environment import EnvironmentSettings, UpsEntry
from ..environment.envelope import check_reading
from ..environment.metrics import unit
from ..environment.probe import UNREADABLE_ADVICE, reading_records
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .client import UpsUnreachable, read_variables
from .status import Limits, UpsStatus, assess_ups, parse_status

UNREACHABLE_ADVICE = ("While upsd cannot be read nobody will know the power failed. Check that upsd and the UPS's "
                      "driver run (`upsc NAME@HOST`), the network path, and the user in upsd.users.")


def limits_of(settings: EnvironmentSettings) -> Limits:
    return Limits(settings.on_battery_grace, settings.shutdown_needs, settings.low_charge,
                  settings.self_test_max_age)


class UpsProbe(Probe):
    name = "ups"

    def __init__(self, settings: EnvironmentSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.interval = min(settings.interval, 30.0)  # an outage is counted in minutes: look often
        self.timeout = settings.timeout * 2 + 5.0
        self.clock = clock
        self.limits = limits_of(settings)
        # when each UPS was first seen on battery, so the grace is counted across runs
        self._on_battery_since: dict[str, float] = {}

    async def collect_async(self) -> list[Record]:
        groups = await asyncio.gather(*(self._one(entry) for entry in self.settings.ups))
        return [record for group in groups for record in group]

    async def _one(self, entry: UpsEntry) -> list[Record]:
        where = f"{entry.name}@{entry.host}:{entry.port}"
        try:
            variables = await read_variables(entry, self.settings.timeout)
        except UpsUnreachable as err:
            return [Finding("ups.unreachable", Severity.WARNING, entry.name, f"UPS {where}: {err}",
                            UNREACHABLE_ADVICE)]
        status = parse_status(variables)
        now = self.clock()
        held = self._held(entry.name, status, now)
        today = datetime.fromtimestamp(now, UTC).date()
        records: list[Record] = list(_samples(entry.name, status, now))
        records.extend(assess_ups(entry.name, status, held, self.limits, today))
        records.extend(self._ambient(entry.name, variables))
        return records

    def _ambient(self, name: str, variables: dict[str, str]) -> list[Record]:
        """A UPS's environment probe (ambient.temperature/humidity) is a room sensor like any other."""
        if "ambient.temperature" not in variables or "ambient.humidity" not in variables:
            return []
        sensor = f"{name}-ambient"
        try:
            reading = check_reading(float(variables["ambient.temperature"]), float(variables["ambient.humidity"]))
        except ValueError as err:
            return [Finding("env.sensor_unreadable", Severity.WARNING, sensor,
                            f"UPS {name} ambient sensor: {str(err)[:160]}", UNREADABLE_ADVICE)]
        return reading_records(sensor, "", reading, self.settings.equipment_class)

    def _held(self, name: str, status: UpsStatus, now: float) -> float | None:
        if not status.on_battery:
            self._on_battery_since.pop(name, None)
            return None
        return now - self._on_battery_since.setdefault(name, now)


def _samples(name: str, status: UpsStatus, now: float) -> list[Sample]:
    labels = {"ups": name}
    values: list[tuple[str, float | None]] = [
        ("ups_on_battery", 1.0 if status.on_battery else 0.0),
        ("ups_battery_charge_percent", status.charge),
        ("ups_runtime_seconds", status.runtime),
        ("ups_load_percent", status.load)]
    today = datetime.fromtimestamp(now, UTC).date()
    for metric, day in (("ups_self_test_age_seconds", status.test_date), ("ups_battery_age_seconds",
                                                                         status.battery_date)):
        values.append((metric, None if day is None else float((today - day).days * 86400)))
    return [Sample(metric, value, labels, unit(metric)) for metric, value in values if value is not None]


def probes(settings: Settings) -> list[Probe]:
    section = settings.environment
    return [UpsProbe(section)] if section.ups else []
