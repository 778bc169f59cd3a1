"""Resolutions of the store (raw, then rollups), which one answers a query, and how rows
merge into coarser buckets. Pure: no I/O, no clock; the backends share it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..config.types import format_duration, parse_duration
from .base import Point

MAX_POINTS = 1500
"""A graph is a few hundred pixels wide: more points than this is wasted reading."""


@dataclass(frozen=True, slots=True)
class Tier:
    """One table of the store: raw samples (resolution 0) or a rollup of `resolution` seconds."""

    name: str
    resolution: int
    retention: float

    @property
    def table(self) -> str:
        return "raw" if self.resolution == 0 else f"rollup_{self.resolution}"

    def covers(self, since: float, now: float) -> bool:
        return now - self.retention <= since


class TierError(ValueError):
    """A retention setting that cannot work; `key` is its path in the config."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


def plan_tiers(retention: Mapping[str, float]) -> list[Tier]:
    """Retention settings ({"raw": 2d, "5m": 14d, ...}) -> tiers from raw to the coarsest.

    Each rollup is computed from the next finer tier, so every resolution must be a multiple
    of the finer one and the finer one must keep its rows at least one coarse bucket long
    (otherwise rows would be pruned before the bucket they belong to closes)."""
    tiers = [Tier("raw", 0, float(retention.get("raw", 2 * 86400.0)))]
    rollups: list[Tier] = []
    for name, keep in retention.items():
        if name == "raw":
            continue
        rollups.append(Tier(name, _resolution(name), float(keep)))
    rollups.sort(key=lambda t: t.resolution)
    for tier in rollups:
        finer = tiers[-1]
        if tier.resolution == finer.resolution:
            raise TierError(f"store.retention.{tier.name}", f"same resolution as {finer.name}")
        if finer.resolution and tier.resolution % finer.resolution:
            raise TierError(f"store.retention.{tier.name}", f"must be a multiple of {finer.name}")
        if finer.retention < tier.resolution:
            raise TierError(f"store.retention.{finer.name}",
                            f"must keep at least {format_duration(tier.resolution)} so {tier.name} buckets can close")
        tiers.append(tier)
    return tiers


def _resolution(name: str) -> int:
    try:
        seconds = parse_duration(name)
    except ValueError:
        raise TierError(f"store.retention.{name}", "expected raw or a resolution such as 1m, 5m, 1h, 1d") from None
    if seconds < 1 or seconds != int(seconds):
        raise TierError(f"store.retention.{name}", "a resolution is a whole number of seconds, at least 1s")
    return int(seconds)


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
