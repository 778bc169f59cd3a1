"""Which Munin plugins run, and how: [[munin.plugins]] entries and the plugins of
`plugin_dir`, each with what plugin-conf.d says for its name (munin-node's rules, conf.py)
under the explicit keys of its [[munin.plugins]] entry."""

from __future__ import annotations

import fnmatch
import os
import re
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..records import ParseProblem
from .conf import PluginConf, Section, read_plugin_conf_dir, resolve
from .runner import Invocation

if TYPE_CHECKING:
    from ..config import Settings
    from ..config.munin import MuninPluginSettings

# munin-node's is_a_runnable_service: no hidden files, no *.conf, no odd characters.
_RUNNABLE = re.compile(r"[-\w@.:]+")
_IGNORED = re.compile(r"([#~]|DEADJOE|\.bak|%|\.dpkg-(tmp|new|old|dist)|\.rpm(save|new)|\.pod)$")


@dataclass(frozen=True, slots=True)
class PluginSpec:
    name: str
    invocation: Invocation
    interval: float


class PluginNotFound(Exception):
    pass


def runnable(path: Path) -> bool:
    name = path.name
    return (not name.startswith(".") and not name.endswith(".conf") and bool(_RUNNABLE.fullmatch(name))
            and not _IGNORED.search(name) and path.is_file() and os.access(path, os.X_OK))


def plugin_specs(settings: Settings) -> tuple[list[PluginSpec], list[ParseProblem]]:
    """Every configured plugin, listed ones first; a name listed twice runs once."""
    munin = settings.munin
    sections, problems = _sections(settings)
    specs: dict[str, PluginSpec] = {}
    for entry in munin.plugins:
        spec = _listed(settings, entry, sections)
        specs.setdefault(spec.name, spec)
    if munin.plugin_dir:
        try:
            paths = sorted(Path(munin.plugin_dir).iterdir())
        except OSError as err:
            problems.append(ParseProblem(str(munin.plugin_dir), None, f"cannot list plugins: {err.strerror}"))
            paths = []
        for path in paths:
            if not runnable(path) or any(fnmatch.fnmatchcase(path.name, p) for p in munin.ignore):
                continue
            if path.name not in specs:
                specs[path.name] = _spec(settings, path, path.name, resolve(path.name, sections))
    return list(specs.values()), problems


def find_plugin(settings: Settings, plugin: str) -> PluginSpec:
    """A plugin given on the command line: a path, a configured name, or a file of plugin_dir."""
    specs, _ = plugin_specs(settings)
    for spec in specs:
        if spec.name == plugin:
            return spec
    path = Path(plugin)
    if "/" not in plugin and settings.munin.plugin_dir:
        path = Path(settings.munin.plugin_dir) / plugin
    if not path.is_file():
        where = f" (nor in {settings.munin.plugin_dir})" if settings.munin.plugin_dir else ""
        raise PluginNotFound(f"{plugin}: no such plugin{where}")
    for spec in specs:
        if spec.invocation.path == path:
            return spec
    sections, _ = _sections(settings)
    return _spec(settings, path, path.name, resolve(path.name, sections))


def _sections(settings: Settings) -> tuple[dict[str, Section], list[ParseProblem]]:
    if not settings.munin.plugin_conf_dir:
        return {}, []
    return read_plugin_conf_dir(Path(settings.munin.plugin_conf_dir))


def _listed(settings: Settings, entry: MuninPluginSettings, sections: dict[str, Section]) -> PluginSpec:
    name = entry.name or entry.path.name
    spec = _spec(settings, entry.path, name, resolve(name, sections))
    inv = spec.invocation
    inv = replace(inv, env={**inv.env, **entry.env}, user=entry.user or inv.user,
                  groups=tuple(entry.group) or inv.groups,
                  timeout=entry.timeout if entry.timeout is not None else inv.timeout)
    return PluginSpec(name, inv, entry.interval if entry.interval is not None else spec.interval)


def _spec(settings: Settings, path: Path, name: str, conf: PluginConf) -> PluginSpec:
    munin = settings.munin
    state = Path(munin.plugin_state_dir) if munin.plugin_state_dir else (
        Path(settings.agent.state_dir) / "munin" / "plugin-state")
    proc = Path(settings.agent.proc)
    inv = Invocation(
        path=path, name=name, env=dict(conf.env), user=conf.user, groups=conf.groups,
        timeout=conf.timeout or munin.timeout, command=conf.command, state_dir=Path(state).absolute(),
        fqdn=host_name(settings), proc_root=None if proc == Path("/proc") else proc.absolute(),
    )
    return PluginSpec(name, inv, munin.interval)


def host_name(settings: Settings) -> str:
    return settings.agent.hostname or socket.gethostname()
