"""The rollup store over SQL, shared by the SQLite and PostgreSQL backends.

Raw samples are rolled into each configured resolution as its buckets close (each tier from
the next finer one), then every table is pruned by its own retention, so a year of history
is a few thousand rows per series and a graph of any range reads a few hundred of them.
A backend supplies a connection (`_transaction`) and the one expression that differs
between dialects (`_bucket`)."""

from __future__ import annotations

import json
import math
import threading
import time as _time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from ..records import Finding, Sample, Severity
from . import statements as sql
from .base import FindingSpan, RollupRow, Series, Store
from .tiers import Row, Tier, align, choose, plan_tiers, rebucket

Purpose = Literal["read", "write", "maintain"]


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """What the engine needs of a connection: sqlite3.Connection has it as is."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any: ...


def canonical_labels(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SqlStore(Store):
    """Thread-safe for one caller at a time (the agent calls it through asyncio.to_thread)."""

    prune_series = True
    """Forget series whose every row expired (off where other hosts may cache their ids)."""

    def __init__(self, retention: Mapping[str, float], clock: Callable[[], float] = _time.time) -> None:
        self.tiers: list[Tier] = plan_tiers(retention)
        self._clock = clock
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], tuple[int, str]] = {}

    @abstractmethod
    def _transaction(self, purpose: Purpose) -> AbstractContextManager[Db]:
        """One transaction; reads see one snapshot (maintain() moves rows between tables)."""

    @abstractmethod
    def _bucket(self, column: str, resolution: int) -> str: ...

    # -- writing ---------------------------------------------------------------------------

    def write_samples(self, samples: Sequence[Sample]) -> None:
        now = self._clock()
        with self._lock, self._transaction("write") as db:
            rows: list[tuple[int, float, float]] = []
            for sample in samples:
                value = float(sample.value)
                if math.isnan(value):  # no measurement (SQL would store NULL)
                    continue
                sid = self._series_id(db, sample)
                rows.append((sid, float(sample.time if sample.time is not None else now), value))
            if rows:
                db.executemany(sql.INSERT_RAW, rows)
                db.executemany(sql.UPSERT_LATEST, rows)
                self._merge_late(db, rows)

    def _merge_late(self, db: Db, rows: list[tuple[int, float, float]]) -> None:
        """A sample older than a tier's rolled_until would never be rolled: merge it directly."""
        marks = self._watermarks(db)
        for tier in self.tiers[1:]:
            mark = marks.get(tier.name)
            if mark is None:
                continue
            res = tier.resolution
            late = [(sid, math.floor(t / res) * res, v, v, v, 1, v, t) for sid, t, v in rows if t < mark]
            if late:
                db.executemany(sql.merge(tier), late)

    def _series_id(self, db: Db, sample: Sample) -> int:
        key = (sample.metric, canonical_labels(sample.labels))
        known = self._series.get(key)
        if known is not None and (not sample.unit or known[1] == sample.unit):
            return known[0]
        sid, unit = db.execute(sql.UPSERT_SERIES, (*key, sample.unit)).fetchone()
        self._series[key] = (int(sid), str(unit))
        return int(sid)

    def write_findings(self, probe: str, findings: Sequence[Finding], time: float) -> None:
        current = {_finding_key(f): f for f in findings}
        with self._lock, self._transaction("write") as db:
            for row_id, *key in db.execute(sql.OPEN_FINDINGS, (probe,)).fetchall():
                still = current.pop(tuple(key), None)
                column = "last_seen" if still is not None else "cleared"
                db.execute(f"UPDATE findings SET {column} = ? WHERE id = ?", (time, row_id))
            if current:
                db.executemany(sql.INSERT_FINDING, [(probe, *key, time, time) for key in current])

    # -- imported history ------------------------------------------------------------------

    def import_rollups(self, metric: str, labels: dict[str, str], unit: str,
                       rows: dict[str, Sequence[RollupRow]]) -> dict[str, int]:
        by_name = {tier.name: tier for tier in self.tiers[1:]}
        unknown = sorted(set(rows) - set(by_name))
        if unknown:
            raise ValueError(f"no rollup tier {', '.join(unknown)} in this store")
        added: dict[str, int] = {}
        with self._lock, self._transaction("write") as db:
            marks = self._import_marks(db)
            sid = self._series_id(db, Sample(metric, 0.0, labels, unit))
            live = self._earliest(db, sid)
            for name, tier_rows in rows.items():
                tier = by_name[name]
                end = min(marks[name], live)
                keep = [r for r in tier_rows if r.bucket_start + r.span <= end]
                if not keep:
                    continue
                before = int(db.execute(sql.count_rows(tier), (sid,)).fetchone()[0])
                db.executemany(sql.insert_new(tier), [(sid, r.bucket_start, r.min, r.max, r.sum, r.count, r.last,
                                                       r.last_time) for r in keep])
                added[name] = int(db.execute(sql.count_rows(tier), (sid,)).fetchone()[0]) - before
                start = min(r.bucket_start for r in keep)
                db.execute(sql.SET_HOLD, (name, start, max(r.bucket_start for r in keep) + 1))
        return added

    def _import_marks(self, db: Db) -> dict[str, int]:
        """Each rollup tier's rolled_until; a tier without one gets it now, at the start of
        the store's own samples (or now), so maintain() rolls only what comes after."""
        marks = self._watermarks(db)
        first_raw = db.execute("SELECT min(time) FROM raw").fetchone()[0]
        base = min(self._clock(), first_raw) if first_raw is not None else self._clock()
        for tier in self.tiers[1:]:
            if tier.name not in marks:
                mark = math.floor(base / tier.resolution) * tier.resolution
                db.execute(sql.SET_WATERMARK, (tier.name, mark))
                marks[tier.name] = mark
        return marks

    def _earliest(self, db: Db, sid: int) -> float:
        """The series' first own sample anywhere: imported history must end before it."""
        found = [db.execute(sql.earliest(tier), (sid,)).fetchone()[0] for tier in self.tiers]
        return min((float(t) for t in found if t is not None), default=math.inf)

    # -- rollups and retention ---------------------------------------------------------------

    def maintain(self, now: float) -> None:
        with self._lock, self._transaction("maintain") as db:
            marks = self._watermarks(db)
            for source, target in zip(self.tiers, self.tiers[1:], strict=False):
                self._roll(db, source, target, now, marks)
            self._prune(db, now)

    def _roll(self, db: Db, source: Tier, target: Tier, now: float, marks: dict[str, int]) -> None:
        res = target.resolution
        done = now if source.resolution == 0 else marks.get(source.name)
        if done is None:
            return
        end = math.floor(min(now, done) / res) * res
        start = marks.get(target.name)
        if start is None:
            first = db.execute(f"SELECT min({sql.time_column(source)}) FROM {source.table}").fetchone()[0]
            start = end if first is None else math.floor(first / res) * res
        if end > start:
            db.execute(sql.roll(source, target, self._bucket), (start, end))
        mark = max(start, end)
        db.execute(sql.SET_WATERMARK, (target.name, mark))
        marks[target.name] = mark

    def _prune(self, db: Db, now: float) -> None:
        raw = self.tiers[0]
        db.execute("DELETE FROM raw WHERE time < ?", (now - raw.retention,))
        db.execute("DELETE FROM latest WHERE time < ?", (now - raw.retention,))
        holds = {str(t): (int(a), int(b)) for t, a, b in db.execute(sql.HOLDS).fetchall()}
        for tier in self.tiers[1:]:
            # A bucket goes once all of it is older than the retention, unless imported (held).
            cutoff = now - tier.retention - tier.resolution
            start, until = holds.get(tier.name, (0, 0))
            db.execute(f"DELETE FROM {tier.table} WHERE bucket_start < ? "
                       "AND NOT (bucket_start >= ? AND bucket_start < ?)", (cutoff, start, until))
        keep = max(t.retention for t in self.tiers)
        db.execute("DELETE FROM findings WHERE cleared < ?", (now - keep,))
        if self.prune_series and db.execute(sql.unused_series(self.tiers)).rowcount:
            self._series.clear()

    def _watermarks(self, db: Db) -> dict[str, int]:
        return {str(tier): int(mark) for tier, mark in db.execute(sql.WATERMARKS).fetchall()}

    # -- reading ---------------------------------------------------------------------------

    def query(self, metric: str, since: float, until: float, step: float | None = None,
              labels: dict[str, str] | None = None) -> list[Series]:
        with self._lock, self._transaction("read") as db:
            found = self._matching(db, metric, labels or {})
            if not found:
                return []
            ids = [sid for sid, _, _ in found]
            now = self._clock()
            raw_points = None
            if step is None and self.tiers[0].covers(since, now):
                raw_points = int(db.execute(sql.raw_count(len(ids)), (*ids, since, until)).fetchone()[0] or 0)
            tier, step = choose(self.tiers, now, since, until, step, raw_points)
            rows = self._rows(db, tier, ids, align(since, step), until)
        result = []
        for sid, series_labels, unit in found:
            points = rebucket(rows.get(sid, []), step)
            if points:
                result.append(Series(metric, series_labels, unit, step, points))
        return result

    def _matching(self, db: Db, metric: str, wanted: dict[str, str]) -> list[tuple[int, dict[str, str], str]]:
        found = []
        for sid, text, unit in db.execute(sql.SERIES_OF, (metric,)).fetchall():
            labels = json.loads(text)
            if all(labels.get(k) == v for k, v in wanted.items()):
                found.append((int(sid), labels, str(unit)))
        return found

    def _rows(self, db: Db, tier: Tier, ids: list[int], start: float, until: float) -> dict[int, list[Row]]:
        """Rows from `tier` up to its rolled_until, then the newer part from each finer tier
        down to raw, so the newest (not yet rolled) data shows too."""
        marks = self._watermarks(db)
        end = math.nextafter(until, math.inf)  # `until` itself is included
        rows: dict[int, list[Row]] = {}
        low = start
        for source in reversed(self.tiers[: self.tiers.index(tier) + 1]):
            mark = marks.get(source.name, -math.inf) if source.resolution else math.inf
            high = min(end, mark)
            if high <= low:
                continue
            for sid, *row in db.execute(sql.rows(source, len(ids)), (*ids, low, high)).fetchall():
                rows.setdefault(sid, []).append(tuple(row))
            low = high
        return rows

    def metrics(self) -> list[tuple[str, dict[str, str], str]]:
        with self._lock, self._transaction("read") as db:
            found = db.execute(sql.ALL_SERIES).fetchall()
        return [(metric, json.loads(labels), unit) for metric, labels, unit in found]

    def latest(self) -> list[Sample]:
        with self._lock, self._transaction("read") as db:
            found = db.execute(sql.LATEST).fetchall()
        return [Sample(metric, value, json.loads(labels), unit, t) for metric, labels, unit, t, value in found]

    def findings(self, since: float, until: float, probe: str | None = None) -> list[FindingSpan]:
        where = "first_seen <= ? AND (cleared IS NULL OR cleared >= ?)"
        params: tuple[object, ...] = (until, since)
        if probe is not None:
            where += " AND probe = ?"
            params += (probe,)
        with self._lock, self._transaction("read") as db:
            found = db.execute(f"SELECT {sql.FINDING_COLUMNS} FROM findings WHERE {where} ORDER BY first_seen, id",
                               params).fetchall()
        return [_span(row) for row in found]


def _finding_key(f: Finding) -> tuple[object, ...]:
    return (f.check, str(f.severity), f.subject, f.message, f.advice, f.file, f.line)


def _span(row: tuple[Any, ...]) -> FindingSpan:
    probe, check, severity, subject, message, advice, file, line, first, last, cleared = row
    finding = Finding(check, Severity(severity), subject, message, advice, file, line)
    return FindingSpan(probe, finding, first, last, cleared)
