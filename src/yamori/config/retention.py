"""Resolutions of the store (raw, then rollups) planned from `[store] retention`.

Pure and in config so that reading the config already rejects tiers the store could not run
(`store/tiers.py` uses the same plan).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .types import format_duration, parse_duration


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
