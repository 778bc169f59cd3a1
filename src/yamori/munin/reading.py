"""One plugin read end to end: `config` (cached), then fetch, values turned into rates as
rrdtool would (rates.py), problems kept as located notes. Used by the probe and by
`yamori munin run`; holds the state a counter needs between two reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..records import ParseProblem
from . import rates
from .protocol import Graph, parse_config, parse_fetch
from .runner import Invocation, RunResult, run

UNKNOWN = None


@dataclass(frozen=True, slots=True)
class FieldValue:
    graph: str
    field: str
    label: str
    type: str
    raw: float | None     # what the plugin printed (None = U)
    value: float | None   # what is stored: the gauge, or the rate (None = unknown yet)


@dataclass(slots=True)
class Reading:
    plugin: str
    graphs: list[Graph]
    values: list[FieldValue]
    problems: list[ParseProblem] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """Run failures in words: timed out, exit status, truncated output."""


def metric_name(graph: str, field_name: str) -> str:
    """munin_<plugin>_<field>, every character outside [A-Za-z0-9_] turned into `_`
    (a multigraph's name stands for the plugin, as in munin's RRD file names)."""
    text = f"munin_{graph}_{field_name}"
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in text)


class PluginReader:
    def __init__(self, name: str, invocation: Invocation, config_every: float = 3600.0,
                 heartbeat: float = 600.0) -> None:
        self.name = name
        self.invocation = invocation
        self.config_every = config_every
        self.heartbeat = heartbeat
        self._graphs: list[Graph] = []
        self._config_at = -float("inf")
        self._config_problems: list[ParseProblem] = []
        self._previous: dict[tuple[str, str], rates.Previous] = {}

    def read(self, now: float | None = None) -> Reading:
        now = time.time() if now is None else now
        failures: list[str] = []
        if time.monotonic() - self._config_at >= self.config_every or not self._graphs:
            self.refresh_config(failures)
        result = run(self.invocation)
        failures += _failures(self.name, "fetch", result)
        values, problems = parse_fetch(result.stdout, self.name, f"{self.name} fetch")
        reading = Reading(self.name, self._graphs, [], self._config_problems + problems, failures)
        known = {(g.name, f) for g in self._graphs for f in g.fields}
        for graph in self._graphs:
            for fld in graph.fields.values():
                raw = values.get(graph.name, {}).get(fld.name, UNKNOWN)
                key = (graph.name, fld.name)
                stored = rates.convert(fld.type, raw, now, self._previous.get(key), self.heartbeat, fld.min, fld.max)
                if raw is not None:
                    self._previous[key] = rates.Previous(raw, now)
                reading.values.append(FieldValue(graph.name, fld.name, fld.label, fld.type, raw, stored))
        if any((g, f) not in known for g, fields in values.items() for f in fields):
            self._config_at = -float("inf")  # a field config did not declare: ask config again next time
        return reading

    @property
    def graphs(self) -> list[Graph]:
        return self._graphs

    def refresh_config(self, failures: list[str] | None = None) -> None:
        result = run(self.invocation, "config")
        if failures is not None:
            failures += _failures(self.name, "config", result)
        graphs, problems = parse_config(result.stdout, self.name, f"{self.name} config")
        if graphs or not result.timed_out:
            self._graphs, self._config_problems = graphs, problems
        self._config_at = time.monotonic()


def _failures(name: str, what: str, result: RunResult) -> list[str]:
    found = []
    if result.timed_out:
        found.append(f"{name} {what}: killed after {result.seconds:.0f}s (timeout {what})")
    elif result.returncode not in (0, None):
        tail = result.stderr.strip().splitlines()[-1][:200] if result.stderr.strip() else ""
        found.append(f"{name} {what}: exit status {result.returncode}" + (f": {tail}" if tail else ""))
    if result.truncated:
        found.append(f"{name} {what}: output over the limit, plugin killed")
    return found
