"""A UPS's NUT variables -> a typed status, and the status -> findings. Pure: no I/O, no clock.

Variable names are NUT's (docs/nut-names.txt): `ups.status` is a list of flags (OL on line,
OB on battery, LB low battery, RB replace battery, CHRG/DISCHRG, FSD forced shutdown...),
`battery.charge` %, `battery.runtime` seconds, `ups.load` %, `ups.test.result` and
`ups.test.date`, `battery.date` (install or last change; `battery.mfr.date` as a fallback).
The date variables are "opaque strings": the usual forms are read, anything else is ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ..records import Finding, Severity


@dataclass(frozen=True, slots=True)
class UpsStatus:
    flags: frozenset[str]
    charge: float | None = None
    runtime: float | None = None
    load: float | None = None
    test_result: str | None = None
    test_date: date | None = None
    battery_date: date | None = None
    model: str | None = None

    @property
    def on_battery(self) -> bool:
        return "OB" in self.flags


def _number(variables: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    try:
        value = float(variables[name].strip())
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and low <= value <= high else None


_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y")


def parse_nut_date(text: str | None) -> date | None:
    if not text:
        return None
    token = text.strip().split()[0] if text.strip() else ""
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(token, form).replace(tzinfo=UTC).date()
        except ValueError:
            continue
    return None


def _printable(value: str | None, limit: int = 80) -> str | None:
    """NUT values are a device's strings: keep them short and free of control characters."""
    if value is None:
        return None
    cleaned = "".join(c if c.isprintable() else "?" for c in value.strip())
    return cleaned[:limit] or None


def parse_status(variables: Mapping[str, str]) -> UpsStatus:
    flags = frozenset(re.findall(r"[A-Z]+", variables.get("ups.status", "")))
    return UpsStatus(
        flags=flags,
        charge=_number(variables, "battery.charge", 0, 100),
        runtime=_number(variables, "battery.runtime", 0, 10 * 86400),
        load=_number(variables, "ups.load", 0, 1000),
        test_result=_printable(variables.get("ups.test.result")),
        test_date=parse_nut_date(variables.get("ups.test.date")),
        battery_date=parse_nut_date(variables.get("battery.date") or variables.get("battery.mfr.date")),
        model=_printable(" ".join(v for v in (variables.get("ups.mfr", variables.get("device.mfr")),
                                              variables.get("ups.model", variables.get("device.model"))) if v)),
    )


@dataclass(frozen=True, slots=True)
class Limits:
    on_battery_grace: float = 30.0
    shutdown_needs: float = 600.0
    low_charge: float = 50.0
    self_test_max_age: float = 90 * 86400.0
    battery_max_age: float = 4 * 365 * 86400.0


ON_BATTERY_ADVICE = ("Mains power is gone or the UPS's input is. Check the feed and the breaker; if it does not come "
                     "back before the runtime left drops to what a clean shutdown needs, shut the servers down now "
                     "(databases first).")
RUNTIME_ADVICE = ("The battery cannot carry the load through an orderly shutdown. Reduce the load on this UPS, "
                  "replace an aged battery, or shorten the shutdown (environment.shutdown_needs says what it takes).")
CHARGE_ADVICE = "The battery is low: a further outage would not be survived. Keep the load down until it recharges."
SELF_TEST_ADVICE = ("The UPS's own battery test did not pass: the battery is likely worn. Replace it and run a new "
                    "self-test (`upscmd UPS test.battery.start`).")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def assess_ups(name: str, status: UpsStatus, on_battery_for: float | None, limits: Limits,
               today: date) -> list[Finding]:
    """Findings for one UPS. `on_battery_for`: seconds since it was first seen on battery."""
    found: list[Finding] = []
    if status.on_battery:
        held = on_battery_for or 0.0
        severity = Severity.CRITICAL if held >= limits.on_battery_grace else Severity.WARNING
        left = f", {_minutes(status.runtime)} of runtime left" if status.runtime is not None else ""
        charge = f", charge {status.charge:.0f} %" if status.charge is not None else ""
        found.append(Finding("ups.on_battery", severity, name,
                             f"UPS {name} is on battery (for {_minutes(held)}{charge}{left})", ON_BATTERY_ADVICE))
    if status.runtime is not None and status.runtime < limits.shutdown_needs:
        # right after an outage the battery recharges and the estimate is low for a while
        severity = Severity.WARNING if "CHRG" in status.flags and not status.on_battery else Severity.CRITICAL
        found.append(Finding("ups.runtime_short", severity, name,
                             f"UPS {name} has {_minutes(status.runtime)} of runtime at {_load(status)} load, less "
                             f"than the {_minutes(limits.shutdown_needs)} an orderly shutdown needs", RUNTIME_ADVICE))
    found.extend(_charge(name, status, limits))
    found.extend(_self_test(name, status, limits, today))
    return found


def _load(status: UpsStatus) -> str:
    return f"{status.load:.0f} %" if status.load is not None else "the present"


def _charge(name: str, status: UpsStatus, limits: Limits) -> list[Finding]:
    charge = status.charge
    if "LB" in status.flags:
        shown = f" (charge {charge:.0f} %)" if charge is not None else ""
        return [Finding("ups.low_charge", Severity.CRITICAL, name,
                        f"UPS {name} reports low battery{shown}: it will cut the power soon", CHARGE_ADVICE)]
    if charge is None or charge >= limits.low_charge:
        return []
    severity = Severity.CRITICAL if charge < limits.low_charge / 2 else Severity.WARNING
    return [Finding("ups.low_charge", severity, name,
                    f"UPS {name} battery charge is {charge:.0f} %, under {limits.low_charge:g} %", CHARGE_ADVICE)]


_FAILED = re.compile(r"fail|error|warning|bad|replace", re.IGNORECASE)


def _self_test(name: str, status: UpsStatus, limits: Limits, today: date) -> list[Finding]:
    found: list[Finding] = []
    if "RB" in status.flags or (status.test_result and _FAILED.search(status.test_result)):
        said = f"last self-test: {status.test_result!r}" if status.test_result else "no self-test result reported"
        replace = "the UPS asks for its battery to be replaced; " if "RB" in status.flags else ""
        found.append(Finding("ups.self_test_failed", Severity.WARNING, name,
                             f"UPS {name}: {replace}{said}", SELF_TEST_ADVICE))
    if status.test_date is not None and (today - status.test_date).days * 86400 > limits.self_test_max_age:
        found.append(Finding("ups.self_test_old", Severity.INFO, name,
                             f"UPS {name}: last self-test on {status.test_date.isoformat()}, "
                             f"{(today - status.test_date).days} days ago",
                             "Run one (`upscmd UPS test.battery.start.quick`) or let the UPS schedule them."))
    if status.battery_date is not None and (today - status.battery_date).days * 86400 > limits.battery_max_age:
        years = (today - status.battery_date).days / 365.25
        found.append(Finding("ups.battery_old", Severity.WARNING, name,
                             f"UPS {name}: battery dated {status.battery_date.isoformat()}, {years:.1f} years old; "
                             "lead-acid UPS batteries last 3 to 5 years",
                             "Plan a battery replacement and set battery.date afterwards."))
    return found
