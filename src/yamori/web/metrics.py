"""Prometheus exposition of the agent's latest results (a custom collector, no globals).

Names follow Prometheus' rules so `promtool check metrics` is clean: base units (seconds,
bytes), unit suffixes, counters as counters (`…_total`), HELP on every family and a
histogram of probe run times."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ..records import Sample
from .view import BUCKETS, WebView

_INVALID = re.compile(r"[^a-zA-Z0-9_]")

# Stored name suffixes in non-base units -> (exposed suffix, factor to the base unit).
BASE_UNITS: tuple[tuple[str, str, float], ...] = (
    ("_ms", "_seconds", 0.001),
    ("_kib_s", "_bytes_per_second", 1024.0),
    ("_bits_per_second", "_bytes_per_second", 0.125),
    ("_days_left", "_seconds_left", 86400.0),
    ("_days", "_seconds", 86400.0),
)


def base_unit(name: str) -> tuple[str, float]:
    """A stored metric name -> its exposed name in base units and the factor to get there."""
    for suffix, replacement, factor in BASE_UNITS:
        if name.endswith(suffix):
            return name.removesuffix(suffix) + replacement, factor
    return name, 1.0
_SUFFIX = {"bytes": "_bytes", "seconds": "_seconds", "ratio": "_ratio", "percent": "_percent",
           "celsius": "_celsius"}


def metric_name(name: str, unit: str = "") -> str:
    """The exposed name (without `_total` for counters: the client adds it)."""
    name = base_unit(name)[0]
    base = "yamori_" + _INVALID.sub("_", name)
    suffix = _SUFFIX.get(unit, "")
    if suffix and not base.endswith(suffix) and suffix.strip("_") not in base.split("_"):
        base += suffix
    return base


# Each domain describes its metrics once, in a METRICS table (name -> entry with .help or ["help"]).
METRIC_REGISTRIES = ("yamori.system.metrics", "yamori.raid.metrics", "yamori.postgres.metrics",
                     "yamori.guard.metrics", "yamori.network.metrics", "yamori.environment.metrics")

HELP_FALLBACK = {
    "guard_auth_failures_total": "failed PostgreSQL authentications the guard classified, by kind",
    "guard_untrusted_total": "authentication failures from addresses outside the inventory",
    "guard_bans_total": "addresses the guard banned",
}


@functools.cache
def help_texts() -> dict[str, str]:
    """Help texts from the domains' metric registries, where one exists."""
    import importlib
    import importlib.util

    texts: dict[str, str] = dict(HELP_FALLBACK)
    for module_name in METRIC_REGISTRIES:
        if importlib.util.find_spec(module_name) is None:
            continue
        table = getattr(importlib.import_module(module_name), "METRICS", {})
        for name, entry in table.items():
            text = entry.get("help") if isinstance(entry, dict) else getattr(entry, "help", None)
            if text:
                texts[name] = str(text)
    return texts


_help_texts = help_texts   # the name other tests import


class AgentCollector(Collector):
    def __init__(self, view: WebView) -> None:
        self.view = view
        self.help = help_texts()

    def collect(self) -> Iterator[Metric]:
        yield from self._probe_families()
        samples: list[Sample] = [s for r in list(self.view.results.values()) for s in r.samples]
        for group in list(self.view.service_samples.values()):
            samples.extend(group)
        by_metric: dict[str, list[Sample]] = defaultdict(list)
        for sample in samples:
            by_metric[sample.metric].append(sample)
        seen_names: set[str] = set()
        for metric, group in sorted(by_metric.items()):
            counter = metric.endswith("_total")
            unit = group[0].unit
            name = metric_name(metric.removesuffix("_total") if counter else metric, "" if counter else unit)
            if name in seen_names:
                continue
            seen_names.add(name)
            factor = base_unit(metric)[1]
            keys = sorted({_INVALID.sub("_", k) for s in group for k in s.labels})
            help_text = self.help.get(metric, metric.replace("_", " ").replace(".", " "))
            family: Any = (CounterMetricFamily(name, help_text, labels=keys) if counter
                           else GaugeMetricFamily(name, help_text, labels=keys))
            seen: set[tuple[str, ...]] = set()
            for sample in group:
                labels = {_INVALID.sub("_", k): v for k, v in sample.labels.items()}
                values = tuple(labels.get(k, "") for k in keys)
                if values in seen:
                    continue
                seen.add(values)
                family.add_metric(list(values), sample.value * factor)
            yield family

    def _probe_families(self) -> Iterator[Metric]:
        state = GaugeMetricFamily("yamori_probe_state", "probe state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
                                  labels=["probe"])
        last = GaugeMetricFamily("yamori_probe_last_run_timestamp_seconds", "when the probe last ran",
                                 labels=["probe"])
        for name, result in sorted(self.view.results.items()):
            state.add_metric([name], float(result.state.value))
            last.add_metric([name], result.started)
        yield state
        yield last
        durations = HistogramMetricFamily("yamori_probe_duration_seconds", "time the probe's runs took",
                                          labels=["probe"])
        hist = self.view.durations
        for name in sorted(hist.counts):
            counts = hist.counts[name]
            buckets = [(repr(b), float(c)) for b, c in zip(BUCKETS, counts, strict=False)]
            buckets.append(("+Inf", float(counts[-1])))
            durations.add_metric([name], buckets, hist.sums.get(name, 0.0))
        yield durations


def exposition(view: WebView) -> bytes:
    from prometheus_client.exposition import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(view))
    return generate_latest(registry)
