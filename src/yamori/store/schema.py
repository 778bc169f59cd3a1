"""The SQLite schema: numbered migrations (PRAGMA user_version) and the rollup tables,
which follow the configured resolutions and so are created on open, not by a migration."""

from __future__ import annotations

import sqlite3

from .base import StoreError
from .tiers import Tier

# One entry per schema version; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        metric TEXT NOT NULL,
        labels TEXT NOT NULL,          -- canonical JSON: sorted keys, no spaces
        unit TEXT NOT NULL DEFAULT '',
        UNIQUE (metric, labels)
    ) STRICT;
    -- Duplicates are allowed: every write is a sample, and rollups count it once.
    CREATE TABLE raw (
        series_id INTEGER NOT NULL,
        time REAL NOT NULL,
        value REAL NOT NULL
    ) STRICT;
    CREATE INDEX raw_series_time ON raw (series_id, time);
    CREATE INDEX raw_time ON raw (time);
    -- Newest sample per series, kept on write so /metrics never scans raw.
    CREATE TABLE latest (
        series_id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        value REAL NOT NULL
    ) STRICT;
    -- Everything before rolled_until (a bucket boundary) is in that tier's table.
    CREATE TABLE rollup_state (
        tier TEXT PRIMARY KEY,
        rolled_until INTEGER NOT NULL
    ) STRICT;
    -- A finding is one row while it keeps being reported; `cleared` closes it.
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        probe TEXT NOT NULL,
        check_name TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT NOT NULL,
        message TEXT NOT NULL,
        advice TEXT NOT NULL,
        file TEXT,
        line INTEGER,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        cleared REAL
    ) STRICT;
    CREATE INDEX findings_open ON findings (probe) WHERE cleared IS NULL;
    CREATE INDEX findings_seen ON findings (first_seen);
    """,
    """
    -- Imported history (e.g. from Munin) is kept whatever the retention: per tier, the span
    -- [start, until) of bucket starts no prune deletes.
    CREATE TABLE retention_hold (
        tier TEXT PRIMARY KEY,
        start INTEGER NOT NULL,
        until INTEGER NOT NULL
    ) STRICT;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the file to SCHEMA_VERSION; each step commits with its version number."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: written by a newer yamori (schema {version}, this one knows {SCHEMA_VERSION})")
    for number in range(version, SCHEMA_VERSION):
        # executescript commits first; the version bump is part of the same script.
        conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")


def rollup_ddl(tier: Tier) -> str:
    table = tier.table
    return f"""
    CREATE TABLE IF NOT EXISTS {table} (
        series_id INTEGER NOT NULL,
        bucket_start INTEGER NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        sum REAL NOT NULL,
        count INTEGER NOT NULL,
        last REAL NOT NULL,
        last_time REAL NOT NULL,
        PRIMARY KEY (series_id, bucket_start)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS {table}_time ON {table} (bucket_start);
    """


def ensure_rollups(conn: sqlite3.Connection, tiers: list[Tier]) -> None:
    """Create missing rollup tables; a reader opening a complete store writes nothing."""
    existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    missing = [t for t in tiers if t.resolution and t.table not in existing]
    if missing:
        conn.executescript("BEGIN IMMEDIATE;" + "".join(rollup_ddl(t) for t in missing) + "COMMIT;")
