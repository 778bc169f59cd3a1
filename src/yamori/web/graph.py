"""Graph data for the dashboard: Munin-like groups, and series decimated to the screen.

Pure: store Series in, JSON-ready dicts out. Decimation keeps each bucket's min and max, so a
spike is never averaged away, and weights the average by the samples each point stands for."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..store.base import Point, Series

GROUPS = ("system", "disks", "network", "sensors", "postgresql", "guard", "munin", "other")

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("cpu_", "system"), ("load", "system"), ("memory_", "system"), ("swap_", "system"),
    ("processes", "system"), ("uptime", "system"),
    ("disk_", "disks"), ("raid_", "disks"), ("smart", "disks"),
    ("net_", "network"), ("conntrack_", "network"), ("ping", "network"), ("dns", "network"),
    ("temperature_", "sensors"), ("fan_", "sensors"), ("ups", "sensors"), ("power", "sensors"),
    ("postgres", "postgresql"), ("pgpool", "postgresql"),
    ("guard_", "guard"),
    ("munin_", "munin"),   # Munin plugins run or imported: munin_<plugin>_<field>
)

RANGES = {"day": 86400.0, "week": 7 * 86400.0, "month": 31 * 86400.0, "year": 365 * 86400.0}
MAX_WIDTH = 2000
MIN_WIDTH = 50


def group_of(metric: str) -> str:
    for prefix, group in _PREFIXES:
        if metric.startswith(prefix):
            return group
    return "other"


def catalog(entries: Iterable[tuple[str, dict[str, str], str]], help_texts: dict[str, str]) -> dict[str, Any]:
    """Every stored series -> {hosts, groups: {group: [{metric, unit, help, series: n}]}}."""
    metrics: dict[str, dict[str, Any]] = {}
    hosts: set[str] = set()
    for metric, labels, unit in entries:
        entry = metrics.setdefault(metric, {"metric": metric, "unit": unit, "help": help_texts.get(metric, ""),
                                            "series": 0, "hosts": set()})
        entry["series"] += 1
        host = labels.get("host", "")
        entry["hosts"].add(host)
        hosts.add(host)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in GROUPS}
    for metric in sorted(metrics):
        entry = metrics[metric]
        entry["hosts"] = sorted(entry["hosts"])
        groups[group_of(metric)].append(entry)
    return {"hosts": sorted(hosts), "groups": {g: items for g, items in groups.items() if items}}


def decimate(points: Sequence[Point], since: float, until: float, width: int) -> list[Point]:
    """At most `width` points over [since, until): per bucket min of mins, max of maxes,
    the count-weighted average and the last value."""
    if width <= 0 or until <= since:
        return []
    if len(points) <= width:
        return [p for p in points if since <= p.time < until]
    size = (until - since) / width
    out: list[Point] = []
    bucket = -1
    lo = hi = total = last = 0.0
    count = 0
    start = 0.0
    for p in points:
        if not since <= p.time < until:
            continue
        index = min(int((p.time - since) / size), width - 1)
        if index != bucket:
            if count:
                out.append(Point(start, lo, hi, total / count, last, count))
            bucket, start = index, since + index * size
            lo, hi, total, count = p.min, p.max, 0.0, 0
        lo = min(lo, p.min)
        hi = max(hi, p.max)
        weight = max(p.count, 1)
        total += p.avg * weight
        count += weight
        last = p.last
    if count:
        out.append(Point(start, lo, hi, total / count, last, count))
    return out


def _num(value: float) -> float | None:
    if math.isnan(value) or math.isinf(value):
        return None
    return float(f"{value:.6g}")


def series_json(series: Sequence[Series], since: float, until: float, width: int) -> list[dict[str, Any]]:
    """Each series on one shared time axis (uPlot's shape): t, and min/avg/max per series."""
    out: list[dict[str, Any]] = []
    for s in series:
        points = decimate(s.points, since, until, width)
        out.append({
            "labels": s.labels,
            "step": s.step,
            "t": [round(p.time) for p in points],
            "min": [_num(p.min) for p in points],
            "avg": [_num(p.avg) for p in points],
            "max": [_num(p.max) for p in points],
        })
    return out


def clamp_width(value: str | None) -> int:
    try:
        width = int(value or 800)
    except ValueError:
        width = 800
    return max(MIN_WIDTH, min(MAX_WIDTH, width))
