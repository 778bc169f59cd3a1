"""SQL both backends run (SQLite 3.40 and PostgreSQL 15 accept the same text), with `?`
placeholders; the PostgreSQL backend rewrites them. Table names come from Tier, never input."""

from __future__ import annotations

from collections.abc import Callable

from .tiers import Tier

Bucket = Callable[[str, int], str]
"""Dialect hook: SQL for the start of the `res`-second bucket holding time column `t`."""

INSERT_RAW = "INSERT INTO raw (series_id, time, value) VALUES (?, ?, ?)"
UPSERT_LATEST = ("INSERT INTO latest (series_id, time, value) VALUES (?, ?, ?) ON CONFLICT (series_id) DO UPDATE "
                 "SET time = excluded.time, value = excluded.value WHERE excluded.time >= latest.time")
UPSERT_SERIES = ("INSERT INTO series (metric, labels, unit) VALUES (?, ?, ?) ON CONFLICT (metric, labels) DO UPDATE "
                 "SET unit = CASE WHEN excluded.unit <> '' THEN excluded.unit ELSE series.unit END RETURNING id, unit")
WATERMARKS = "SELECT tier, rolled_until FROM rollup_state"
SET_WATERMARK = ("INSERT INTO rollup_state (tier, rolled_until) VALUES (?, ?) ON CONFLICT (tier) "
                 "DO UPDATE SET rolled_until = excluded.rolled_until")
HOLDS = "SELECT tier, start, until FROM retention_hold"
SET_HOLD = ("INSERT INTO retention_hold (tier, start, until) VALUES (?, ?, ?) ON CONFLICT (tier) DO UPDATE "
            "SET start = CASE WHEN excluded.start < retention_hold.start THEN excluded.start "
            "ELSE retention_hold.start END, "
            "until = CASE WHEN excluded.until > retention_hold.until THEN excluded.until ELSE retention_hold.until END")
FINDING_COLUMNS = "probe, check_name, severity, subject, message, advice, file, line, first_seen, last_seen, cleared"
OPEN_FINDINGS = ("SELECT id, check_name, severity, subject, message, advice, file, line FROM findings "
                 "WHERE probe = ? AND cleared IS NULL")
INSERT_FINDING = f"INSERT INTO findings ({FINDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
SERIES_OF = "SELECT id, labels, unit FROM series WHERE metric = ? ORDER BY labels"
ALL_SERIES = "SELECT metric, labels, unit FROM series ORDER BY metric, labels"
LATEST = ("SELECT s.metric, s.labels, s.unit, l.time, l.value FROM latest AS l "
          "JOIN series AS s ON s.id = l.series_id ORDER BY s.metric, s.labels")


def merge(tier: Tier) -> str:
    """UPSERT of one bucket row: merging keeps min/max/sum/count/last exact whatever the order."""
    return f"""
    INSERT INTO {tier.table} (series_id, bucket_start, min, max, sum, count, last, last_time)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    {_on_conflict(tier)}
    """


def insert_new(tier: Tier) -> str:
    """INSERT of one imported bucket row; a bucket already there (live or imported) is kept."""
    return (f"INSERT INTO {tier.table} (series_id, bucket_start, min, max, sum, count, last, last_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, bucket_start) DO NOTHING")


def count_rows(tier: Tier) -> str:
    return f"SELECT count(*) FROM {tier.table} WHERE series_id = ?"


def earliest(tier: Tier) -> str:
    return f"SELECT min({time_column(tier)}) FROM {tier.table} WHERE series_id = ?"


def _on_conflict(tier: Tier) -> str:
    t = tier.table
    return f"""
    ON CONFLICT (series_id, bucket_start) DO UPDATE SET
        min = CASE WHEN excluded.min < {t}.min THEN excluded.min ELSE {t}.min END,
        max = CASE WHEN excluded.max > {t}.max THEN excluded.max ELSE {t}.max END,
        sum = {t}.sum + excluded.sum,
        count = {t}.count + excluded.count,
        last = CASE WHEN excluded.last_time >= {t}.last_time THEN excluded.last ELSE {t}.last END,
        last_time = CASE WHEN excluded.last_time >= {t}.last_time THEN excluded.last_time ELSE {t}.last_time END
    """


# Per source table: (time column, min, max, sum, count, last, last_time) expressions.
_RAW_COLUMNS = ("time", "value", "value", "value", "1", "value", "time")
_ROLLUP_COLUMNS = ("bucket_start", "min", "max", "sum", "count", "last", "last_time")


def time_column(tier: Tier) -> str:
    return "time" if tier.resolution == 0 else "bucket_start"


def roll(source: Tier, target: Tier, bucket: Bucket) -> str:
    """Aggregate source rows with start <= time < end (two parameters) into target buckets,
    merged into existing ones. `last` is the value of the bucket's latest row."""
    t, mn, mx, total, count, last, last_time = _RAW_COLUMNS if source.resolution == 0 else _ROLLUP_COLUMNS
    return f"""
    WITH src AS (
        SELECT series_id, {bucket(t, target.resolution)} AS b, {mn} AS mn, {mx} AS mx,
               {total} AS s, {count} AS c, {last} AS lv, {last_time} AS lt
        FROM {source.table} WHERE {t} >= ? AND {t} < ?
    ),
    agg AS (SELECT series_id, b, min(mn) AS mn, max(mx) AS mx, sum(s) AS s, sum(c) AS c
            FROM src GROUP BY series_id, b),
    ranked AS (SELECT series_id, b, lv, lt,
                      row_number() OVER (PARTITION BY series_id, b ORDER BY lt DESC) AS rn FROM src)
    INSERT INTO {target.table} (series_id, bucket_start, min, max, sum, count, last, last_time)
    SELECT agg.series_id, agg.b, agg.mn, agg.mx, agg.s, agg.c, ranked.lv, ranked.lt
    FROM agg JOIN ranked ON ranked.series_id = agg.series_id AND ranked.b = agg.b AND ranked.rn = 1
    WHERE true
    {_on_conflict(target)}
    """


def rows(tier: Tier, n_series: int) -> str:
    """Rows of some series with start <= time < end, as (series_id, *Row)."""
    marks = ",".join("?" * n_series)
    t, mn, mx, total, count, last, last_time = _RAW_COLUMNS if tier.resolution == 0 else _ROLLUP_COLUMNS
    return (f"SELECT series_id, {t}, {mn}, {mx}, {total}, {count}, {last}, {last_time} FROM {tier.table} "
            f"WHERE series_id IN ({marks}) AND {t} >= ? AND {t} < ? ORDER BY series_id, {t}")


def raw_count(n_series: int) -> str:
    marks = ",".join("?" * n_series)
    return (f"SELECT max(n) FROM (SELECT count(*) AS n FROM raw WHERE series_id IN ({marks}) "
            "AND time >= ? AND time <= ? GROUP BY series_id) AS counts")


def unused_series(tiers: list[Tier]) -> str:
    """Series with no row left anywhere (every sample expired)."""
    unused = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {t.table} WHERE series_id = series.id)" for t in tiers)
    return f"DELETE FROM series WHERE id NOT IN (SELECT series_id FROM latest) AND {unused}"
