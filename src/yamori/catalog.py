"""Which probes and services exist, built from the settings.

Each domain exposes `probes(settings) -> list[Probe]` (and optionally
`services(settings) -> list[Service]`); they are imported lazily so the agent only loads
what it runs. This is the one place that knows every domain.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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
    "yamori.munin.probe:probes",
    "yamori.network.paths.probe:probes",
    "yamori.network.dns:probes",
    "yamori.network.links:probes",
    "yamori.network.lan.probe:probes",
    "yamori.network.exposure.probe:probes",
    "yamori.environment.probe:probes",
    "yamori.ups.probe:probes",
    "yamori.disks.smart_probe:probes",
    "yamori.lifecycle.probe:probes",
)

SERVICE_FACTORIES = ("yamori.guard.service:services", "yamori.network.lan.service:services")

# Alert rules a domain derives from what it finds configured (Munin fields' warning/critical).
RULE_FACTORIES = ("yamori.munin.probe:alert_rules",)


def _munin(s: Settings) -> bool:
    return bool(s.munin.plugins or s.munin.plugin_dir or s.munin.plugin_conf_dir)


# Domains that do nothing until configured, and what that takes: a necessary condition, never
# the decision (the factory still decides what runs). When it is false the factory's module and
# everything it imports stay unloaded: ~1.5 MB of the agent's 64 MB RSS budget by default.
# (environment, SMART and lifecycle look at this machine by default, so they have no entry.)
# tests/core/test_catalog.py checks that each factory returns nothing whenever this is false.
NEEDS: dict[str, Callable[[Settings], bool]] = {
    "yamori.postgres.probe:probes":
        lambda s: bool(s.postgres.servers or s.postgres.backups) or s.postgres.pgpool is not None,
    "yamori.munin.probe:probes": _munin,
    "yamori.munin.probe:alert_rules": _munin,
    "yamori.network.paths.probe:probes": lambda s: bool(s.network.paths),
    "yamori.network.dns:probes": lambda s: bool(s.network.dns),
    "yamori.ups.probe:probes": lambda s: bool(s.environment.ups),
    "yamori.network.links:probes": lambda s: bool(s.network.links),
    "yamori.network.lan.probe:probes": lambda s: s.network.lan.enabled and bool(s.inventory.hosts),
    "yamori.network.exposure.probe:probes": lambda s: s.network.exposure.enabled and bool(s.inventory.hosts),
}


class CatalogError(RuntimeError):
    """An entry of this catalog names a module or factory that does not exist: a mistake in
    yamori itself, said at once rather than leaving a probe silently switched off."""


def _load(entry: str) -> Any:
    module_name, attribute = entry.split(":")
    try:
        found = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise CatalogError(f"catalog entry {entry!r}: no module {module_name}")
    factory = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(factory):
        raise CatalogError(f"catalog entry {entry!r}: {module_name} has no factory {attribute}()")
    return factory


def _factories(entries: tuple[str, ...], settings: Settings) -> list[Any]:
    """The factories of `entries` that may find something to run under these settings."""
    return [_load(entry) for entry in entries if entry not in NEEDS or NEEDS[entry](settings)]


def build_probes(settings: Settings, only: list[str] | None = None) -> list[Probe]:
    result: list[Probe] = []
    for factory in _factories(PROBE_FACTORIES, settings):
        for probe in factory(settings):
            if not only or probe.name in only or probe.name.split(".")[0] in only:
                result.append(probe)
    return result


def build_services(settings: Settings) -> list[Service]:
    result: list[Service] = []
    for factory in _factories(SERVICE_FACTORIES, settings):
        result.extend(factory(settings))
    return result


def build_rules(settings: Settings) -> list[Any]:
    """RuleSettings the domains derive from the settings, added to the shipped defaults."""
    result: list[Any] = []
    for factory in _factories(RULE_FACTORIES, settings):
        result.extend(factory(settings))
    return result


@dataclass(frozen=True, slots=True)
class WebActions:
    """What the dashboard may read from or do to the domains, bound to the settings (the web
    server itself imports no domain)."""

    bans: Callable[[], dict[str, dict[str, float]]]
    unban: Callable[[str], Awaitable[bool]]
    run_audit: Callable[[], Awaitable[list[Any]]]
    raid_arrays: Callable[[], Awaitable[list[dict[str, Any]]]]


def web_actions(settings: Settings, clock: Callable[[], float]) -> WebActions:
    def bans() -> dict[str, dict[str, float]]:
        from .guard.bans import BanStore

        return BanStore(settings.agent.state_dir).active(clock())

    async def unban(address: str) -> bool:
        from .guard.nft import unban_address

        return await asyncio.to_thread(unban_address, settings.guard.table, address, settings.agent.state_dir,
                                       settings.guard.nft)

    async def run_audit() -> list[Any]:
        from .audit.runner import AuditRequest
        from .audit.runner import run_audit as audit

        return await asyncio.to_thread(audit, settings, AuditRequest.from_settings(settings))

    async def raid_arrays() -> list[dict[str, Any]]:
        from .raid.probe import read_mdstat

        try:
            mdstat = await asyncio.to_thread(read_mdstat, settings.agent.proc)
        except (OSError, ValueError):
            return []   # no md arrays here, or an unreadable file: the raid probe says which
        return [{"array": a.name, "level": a.level, "active": a.active, "slots": a.slots,
                 "members": [{"device": m.device, "slot": m.slot, "flags": "".join(m.flags)} for m in a.members],
                 "sync": None if a.sync is None else {"action": a.sync.action, "status": a.sync.status,
                                                      "percent": a.sync.percent, "eta_seconds": a.sync.eta_seconds,
                                                      "speed_kib_s": a.sync.speed_kib_s}}
                for a in mdstat.arrays]

    return WebActions(bans, unban, run_audit, raid_arrays)
