"""Munin plugins as probes: one probe per plugin (`munin.<name>`), so a hanging or broken
plugin only makes its own probe UNKNOWN or WARNING and never delays the others.

Each field becomes the metric munin_<graph>_<field> with labels host, plugin, field; a
field's warning/critical ranges become alert rules (`alert_rules`, used by the agent)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from ..probe import Probe
from ..records import Finding, ParseProblem, Record, Sample, Severity
from .plugins import PluginSpec, host_name, plugin_specs
from .reading import PluginReader, Reading, metric_name
from .runner import RunError

if TYPE_CHECKING:
    from ..config import Settings
    from ..config.alerts import RuleSettings

RULES_TIMEOUT = 10.0


class MuninProbe(Probe):
    def __init__(self, spec: PluginSpec, host: str, config_every: float) -> None:
        self.name = f"munin.{spec.name}"
        self.interval = spec.interval
        # config and fetch each have the plugin's timeout; the probe's own is a safety net
        self.timeout = 2 * spec.invocation.timeout + 5
        self.host = host
        self.reader = PluginReader(spec.name, spec.invocation, config_every, heartbeat=2 * spec.interval)

    def collect(self) -> Iterable[Record]:
        now = time.time()
        try:
            reading = self.reader.read(now)
        except RunError as err:
            return [Finding("munin.run", Severity.WARNING, self.reader.name, str(err))]
        return list(records(reading, self.host, now))


def records(reading: Reading, host: str, now: float) -> Iterable[Record]:
    for value in reading.values:
        if value.value is None:
            continue
        labels = {"host": host, "plugin": value.graph, "field": value.field}
        yield Sample(metric_name(value.graph, value.field), value.value, labels, time=now)
    for problem in reading.problems[:20]:
        yield Finding("munin.output", Severity.WARNING, f"munin plugin {reading.plugin}",
                      f"{problem.file} output line {problem.line}: {problem.message}",
                      "fix the plugin's output (see `yamori munin run` for what was parsed)")
    for failure in reading.failures:
        yield Finding("munin.run", Severity.WARNING, f"munin plugin {reading.plugin}", failure)


class ConfProbe(Probe):
    """plugin-conf.d lines munin-node would not accept, said as findings (the plugins still run
    with what could be read)."""

    name = "munin.plugin_conf"

    def __init__(self, problems: list[ParseProblem], interval: float) -> None:
        self.problems = problems
        self.interval = interval

    def collect(self) -> Iterable[Record]:
        return [Finding("munin.plugin_conf", Severity.WARNING, f"{p.file}:{p.line}" if p.line else p.file,
                        p.message, "fix the line: munin-node would skip the rest of this file", p.file, p.line)
                for p in self.problems]


def probes(settings: Settings) -> list[Probe]:
    specs, problems = plugin_specs(settings)
    host = host_name(settings)
    found: list[Probe] = [MuninProbe(spec, host, settings.munin.config_every) for spec in specs]
    if problems:
        found.append(ConfProbe(problems, settings.munin.config_every))
    return found


def alert_rules(settings: Settings) -> list[RuleSettings]:
    """The warning/critical rules every configured plugin declares (runs each `config` once,
    a few at a time; a plugin that fails gives no rules and its probe reports why)."""
    from .rules import field_rules

    if not settings.munin.plugins and not settings.munin.plugin_dir:
        return []
    specs, _ = plugin_specs(settings)
    if not specs:
        return []

    def graphs_of(spec: PluginSpec) -> list[RuleSettings]:
        # the agent waits for this before it starts: a hanging plugin may delay it 10 s, not 60
        quick = replace(spec.invocation, timeout=min(spec.invocation.timeout, RULES_TIMEOUT))
        reader = PluginReader(spec.name, quick)
        try:
            reader.refresh_config()
        except RunError:
            return []
        return field_rules(reader.graphs)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [rule for rules in pool.map(graphs_of, specs) for rule in rules]
