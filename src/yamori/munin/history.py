"""Munin's RRD history mapped onto yamori's rollup tiers. Pure: file names to series, RRD
archives to rollup rows; the importer (importer.py) does the reading and writing.

munin-update names each file `<datadir>/<group>/<host>-<service>-<field>-<t>.rrd` (t: the
first letter of the field's type; a multigraph service's dots become dashes) and keeps, per
resolution (5 min, 30 min, 2 h, 1 day by default), AVERAGE, MIN and MAX archives (LAST too
when someone added it). Each resolution goes to the coarsest yamori tier that divides it;
where two resolutions land in one tier (5 min and 30 min in the 5m tier), the finer one is
used where it exists and the coarser one only before it, cut on a whole coarse bucket."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..store.base import RollupRow
from ..store.tiers import Tier
from .reading import metric_name

_TAIL = re.compile(r"-([A-Za-z0-9_]+)-([dgca])\.rrd")
TYPES = {"d": "DERIVE", "g": "GAUGE", "c": "COUNTER", "a": "ABSOLUTE"}


@dataclass(frozen=True, slots=True)
class RrdName:
    group: str
    host: str
    service: str     # plugin, or multigraph name with its dots back
    field: str
    type: str

    @property
    def metric(self) -> str:
        return metric_name(self.service, self.field)

    def labels(self) -> dict[str, str]:
        return {"host": self.host, "plugin": self.service, "field": self.field}


def parse_rrd_name(group: str, file_name: str, hosts: Iterable[str] = ()) -> RrdName | None:
    """`localhost.localdomain-cpu-user-d.rrd` -> RrdName; None when it is not a Munin file.

    Host names may contain dashes, so the host is the longest known host (from Munin's
    `datafile`) the name starts with; without one, the host ends at the first dash."""
    tail = _TAIL.search(file_name)
    if tail is None or tail.end() != len(file_name):
        return None
    head = file_name[: tail.start()]
    field, kind = tail.group(1), tail.group(2)
    host = next((h for h in sorted(hosts, key=len, reverse=True) if head.startswith(h + "-")), None)
    if host is None:
        host, sep, _ = head.partition("-")
        if not sep:
            return None
    service = head[len(host) + 1:]
    if not host or not service:
        return None
    return RrdName(group, host, service.replace("-", "."), field, TYPES[kind])


def parse_datafile_hosts(text: str) -> dict[str, set[str]]:
    """Munin's `datafile` (`group;host:service.key value`) -> group directory -> host names.
    Nested groups (`a;b;host`) live in the directory a/b, as munin-update lays them out."""
    hosts: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = re.match(r"([^:\s]+;[^:\s;]+):", line)
        if match:
            *groups, host = match.group(1).split(";")
            hosts.setdefault("/".join(groups), set()).add(host)
    return hosts


@dataclass(frozen=True, slots=True)
class Archived:
    """One resolution of one file: end time of each row -> value, per consolidation."""

    resolution: int
    pdp: int                          # the RRD's base step: a row stands for resolution/pdp samples
    start: int                        # start of the oldest row fetched
    values: Mapping[str, Mapping[int, float]]   # cf -> end time -> value (NaN = unknown)


def tier_for(tiers: list[Tier], resolution: int) -> Tier | None:
    fitting = [t for t in tiers[1:] if t.resolution <= resolution and resolution % t.resolution == 0]
    return fitting[-1] if fitting else None


def rollup_rows(tiers: list[Tier], archives: list[Archived], since: float) -> dict[str, list[RollupRow]]:
    """Rows per tier name for one file's archives, finest data first within each tier."""
    by_tier: dict[str, list[Archived]] = {}
    for archived in sorted(archives, key=lambda a: a.resolution):
        tier = tier_for(tiers, archived.resolution)
        if tier is not None:
            by_tier.setdefault(tier.name, []).append(archived)
    result: dict[str, list[RollupRow]] = {}
    for name, sources in by_tier.items():
        rows: list[RollupRow] = []
        upper = math.inf
        for index, archived in enumerate(sources):
            coarser = sources[index + 1] if index + 1 < len(sources) else None
            lower = (math.ceil(archived.start / coarser.resolution) * coarser.resolution) if coarser else -math.inf
            rows.extend(r for r in _rows(archived, since) if r.bucket_start >= lower and
                        r.bucket_start + r.span <= upper)
            upper = lower
        if rows:
            result[name] = sorted(rows, key=lambda r: r.bucket_start)
    return result


def _rows(archived: Archived, since: float) -> Iterable[RollupRow]:
    average = archived.values.get("AVERAGE", {})
    lows, highs, lasts = (archived.values.get(cf, {}) for cf in ("MIN", "MAX", "LAST"))
    count = max(1, archived.resolution // archived.pdp)
    nan = math.nan
    for end, avg in average.items():
        start = end - archived.resolution
        if avg != avg or start < since:  # NaN: unknown
            continue
        low, high, last = lows.get(end, nan), highs.get(end, nan), lasts.get(end, nan)
        low = avg if low != low else min(low, avg)
        high = avg if high != high else max(high, avg)
        yield RollupRow(start, archived.resolution, low, high, avg * count, count, avg if last != last else last,
                        float(end))
