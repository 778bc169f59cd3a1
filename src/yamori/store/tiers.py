"""Resolutions of the store (raw, then rollups), which one answers a query, and how rows
merge into coarser buckets. Pure: no I/O, no clock; the backends share it."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..config.retention import Tier, TierError, plan_tiers
from .base import Point

__all__ = ["MAX_POINTS", "Tier", "TierError", "plan_tiers"]

MAX_POINTS = 1500
"""A graph is a few hundred pixels wide: more points than this is wasted reading."""


def choose(tiers: list[Tier], now: float, since: float, until: float, step: float | None,
           raw_points: int | None = None) -> tuple[Tier, float]:
    """Which tier answers a query, and the step of the answer (0 = raw points as stored).

    step=None: the finest tier whose retention still covers `since` and that gives at most
    MAX_POINTS; `raw_points` (the largest sample count of one matching series in the range)
    decides for raw. An explicit step reads the coarsest tier whose resolution divides it."""
    if step is not None:
        if step <= 0:
            raise ValueError("step must be positive")
        fitting = [t for t in tiers if t.resolution == 0 or _divides(t.resolution, step)]
        return fitting[-1], float(step)
    span = max(until - since, 0.0)
    covering = [t for t in tiers if t.covers(since, now)]
    for tier in covering:
        if tier.resolution == 0:
            if raw_points is not None and raw_points <= MAX_POINTS:
                return tier, 0.0
        elif span / tier.resolution <= MAX_POINTS:
            return tier, float(tier.resolution)
    # Nothing fits: the coarsest covering tier (or, when `since` is older than every
    # retention, the one keeping the longest history) re-bucketed to about MAX_POINTS.
    tier = covering[-1] if covering else max(tiers, key=lambda t: t.retention)
    unit = tier.resolution or 1
    buckets = max(1, math.ceil(span / MAX_POINTS / unit))
    return tier, float(buckets * unit)


def _divides(resolution: int, step: float) -> bool:
    ratio = step / resolution
    return ratio >= 1 and abs(ratio - round(ratio)) < 1e-9


Row = tuple[float, float, float, float, int, float, float]
"""(time, min, max, sum, count, last, last_time): a raw sample or a rollup bucket."""


def rebucket(rows: Iterable[Row], step: float) -> list[Point]:
    """Merge rows into buckets of `step` seconds aligned on the epoch (step 0 = as stored).

    The last value of a bucket is the one with the latest time, whatever the row order."""
    if step == 0:
        return [Point(t, lo, hi, total / count, last, count) for t, lo, hi, total, count, last, _ in rows]
    buckets: dict[float, list[float]] = {}
    for t, lo, hi, total, count, last, last_time in rows:
        start = math.floor(t / step) * step
        acc = buckets.get(start)
        if acc is None:
            buckets[start] = [lo, hi, total, count, last, last_time]
            continue
        acc[0] = min(acc[0], lo)
        acc[1] = max(acc[1], hi)
        acc[2] += total
        acc[3] += count
        if last_time >= acc[5]:
            acc[4], acc[5] = last, last_time
    return [Point(start, a[0], a[1], a[2] / a[3], a[4], int(a[3])) for start, a in sorted(buckets.items())]


def align(since: float, step: float) -> float:
    """The start of the bucket holding `since`, so the first bucket is complete."""
    return math.floor(since / step) * step if step else since
