"""Prometheus exposition of the agent's latest results (a custom collector, no globals)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from ..records import Sample

if TYPE_CHECKING:
    from ..agent import AgentState

_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(name: str) -> str:
    return "yamori_" + _INVALID.sub("_", name)


# Each domain describes its metrics once, in a METRICS table (name -> entry with .help or ["help"]).
METRIC_REGISTRIES = ("yamori.system.metrics", "yamori.raid.metrics", "yamori.postgres.metrics",
                     "yamori.guard.metrics", "yamori.network.metrics")


def _help_texts() -> dict[str, str]:
    """Help texts from the domains' metric registries, where one exists."""
    import importlib
    import importlib.util

    texts: dict[str, str] = {}
    for module_name in METRIC_REGISTRIES:
        if importlib.util.find_spec(module_name) is None:
            continue
        table = getattr(importlib.import_module(module_name), "METRICS", {})
        for name, entry in table.items():
            text = entry.get("help") if isinstance(entry, dict) else getattr(entry, "help", None)
            if text:
                texts[name] = str(text)
    return texts


class AgentCollector(Collector):
    def __init__(self, state: AgentState) -> None:
        self.state = state
        self.help = _help_texts()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._probe_families()
        samples: list[Sample] = [s for r in self.state.results.values() for s in r.samples]
        for group in self.state.service_samples.values():
            samples.extend(group)
        by_metric: dict[str, list[Sample]] = defaultdict(list)
        for sample in samples:
            by_metric[sample.metric].append(sample)
        for metric, group in sorted(by_metric.items()):
            keys = sorted({k for s in group for k in s.labels})
            help_text = self.help.get(metric, metric.replace("_", " "))
            unit = group[0].unit
            if unit:
                help_text = f"{help_text} ({unit})"
            family = GaugeMetricFamily(metric_name(metric), help_text, labels=keys)
            seen: set[tuple[str, ...]] = set()
            for sample in group:
                values = tuple(sample.labels.get(k, "") for k in keys)
                if values in seen:
                    continue
                seen.add(values)
                family.add_metric(list(values), sample.value)
            yield family

    def _probe_families(self) -> Iterator[GaugeMetricFamily]:
        state = GaugeMetricFamily("yamori_probe_state", "probe state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
                                  labels=["probe"])
        duration = GaugeMetricFamily("yamori_probe_duration_seconds", "time the last run took", labels=["probe"])
        last = GaugeMetricFamily("yamori_probe_last_run_timestamp_seconds", "when the probe last ran",
                                 labels=["probe"])
        for name, result in sorted(self.state.results.items()):
            state.add_metric([name], float(result.state.value))
            duration.add_metric([name], result.duration)
            last.add_metric([name], result.started)
        yield state
        yield duration
        yield last


def exposition(state: AgentState) -> bytes:
    from prometheus_client.exposition import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(state))
    return generate_latest(registry)
