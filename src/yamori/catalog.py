"""Which probes and services exist, built from the settings.

Each domain exposes `probes(settings) -> list[Probe]` (and optionally
`services(settings) -> list[Service]`); they are imported lazily so the agent only loads
what it runs. This is the one place that knows every domain.
"""

from __future__ import annotations

import importlib
import importlib.util

from .config import Settings
from .probe import Probe
from .service import Service

PROBE_FACTORIES = (
    "yamori.system.probe:probes",
    "yamori.system.hwmon:probes",
    "yamori.system.conntrack:probes",
    "yamori.raid.probe:probes",
    "yamori.postgres.probe:probes",
    "yamori.audit.probe:probes",
)

SERVICE_FACTORIES = ("yamori.guard.service:services",)


def _load(entry: str) -> object | None:
    module_name, attribute = entry.split(":")
    if importlib.util.find_spec(module_name) is None:
        return None
    return getattr(importlib.import_module(module_name), attribute, None)


def build_probes(settings: Settings, only: list[str] | None = None) -> list[Probe]:
    result: list[Probe] = []
    for entry in PROBE_FACTORIES:
        factory = _load(entry)
        if factory is None:
            continue
        for probe in factory(settings):  # type: ignore[operator]
            if not only or probe.name in only or probe.name.split(".")[0] in only:
                result.append(probe)
    return result


def build_services(settings: Settings) -> list[Service]:
    result: list[Service] = []
    for entry in SERVICE_FACTORIES:
        factory = _load(entry)
        if factory is not None:
            result.extend(factory(settings))  # type: ignore[operator]
    return result
