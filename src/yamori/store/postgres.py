"""The shared store: PostgreSQL through psycopg, so several hosts' agents write one history
and one dashboard reads it. Same tables and rollup engine (sql.py) as the SQLite store.

Several agents may write and maintain concurrently: writers hold a shared advisory lock and
maintain() an exclusive one, so a rollup never misses a sample committed while it ran."""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .base import StoreError
from .sql import Db, Purpose, SqlStore
from .tiers import Tier

LOCK_KEY = 0x79616D6F7269  # "yamori": one advisory lock id for every yamori store

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE series (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        metric text NOT NULL,
        labels text NOT NULL,
        unit text NOT NULL DEFAULT '',
        UNIQUE (metric, labels)
    );
    CREATE TABLE raw (series_id bigint NOT NULL, time double precision NOT NULL, value double precision NOT NULL);
    CREATE INDEX raw_series_time ON raw (series_id, time);
    CREATE INDEX raw_time ON raw (time);
    CREATE TABLE latest (series_id bigint PRIMARY KEY, time double precision NOT NULL,
                         value double precision NOT NULL);
    CREATE TABLE rollup_state (tier text PRIMARY KEY, rolled_until bigint NOT NULL);
    CREATE TABLE findings (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        probe text NOT NULL, check_name text NOT NULL, severity text NOT NULL, subject text NOT NULL,
        message text NOT NULL, advice text NOT NULL, file text, line integer,
        first_seen double precision NOT NULL, last_seen double precision NOT NULL, cleared double precision
    );
    CREATE INDEX findings_open ON findings (probe) WHERE cleared IS NULL;
    CREATE INDEX findings_seen ON findings (first_seen);
    """,
    """
    CREATE TABLE retention_hold (tier text PRIMARY KEY, start bigint NOT NULL, until bigint NOT NULL);
    """,
)


def rollup_ddl(tier: Tier) -> str:
    table = tier.table
    return f"""
    CREATE TABLE IF NOT EXISTS {table} (
        series_id bigint NOT NULL, bucket_start bigint NOT NULL,
        min double precision NOT NULL, max double precision NOT NULL, sum double precision NOT NULL,
        count bigint NOT NULL, last double precision NOT NULL, last_time double precision NOT NULL,
        PRIMARY KEY (series_id, bucket_start)
    );
    CREATE INDEX IF NOT EXISTS {table}_time ON {table} (bucket_start);
    """


def describe(dsn: str) -> str:
    """The server a DSN points at, for messages (never the password)."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the configured PostgreSQL server"
    host, port, db = parts.get("host", "localhost"), parts.get("port", "5432"), parts.get("dbname", "")
    return f"PostgreSQL {host}:{port}/{db}".rstrip("/")


class _PgDb:
    """psycopg speaks %s; the engine writes ? (none of its SQL contains a literal ? or %)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, query: str, params: Any = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(query.replace("?", "%s"), params)

    def executemany(self, query: str, rows: Any) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(query.replace("?", "%s"), rows)


class PostgresStore(SqlStore):
    # Another host may hold a series id in its cache: never delete series rows here.
    prune_series = False

    def __init__(self, dsn: str, retention: Mapping[str, float], clock: Callable[[], float] = _time.time) -> None:
        super().__init__(retention, clock)
        self.dsn = dsn
        self.where = describe(dsn)
        self._conn = self._connect()
        try:
            self._migrate()
        except psycopg.Error as err:
            self._conn.close()
            raise StoreError(f"{self.where}: cannot prepare the store: {_reason(err)}") from err

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10, application_name="yamori")
        except psycopg.Error as err:
            raise StoreError(f"{self.where}: cannot connect: {_reason(err)}") from err

    def _migrate(self) -> None:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))  # one migrating agent at a time
            self._conn.execute("CREATE TABLE IF NOT EXISTS yamori_schema (version integer NOT NULL)")
            row = self._conn.execute("SELECT max(version) FROM yamori_schema").fetchone()
            version = int(row[0] or 0) if row else 0
            if version > len(MIGRATIONS):
                raise StoreError(f"{self.where}: written by a newer yamori (schema {version}, "
                                 f"this one knows {len(MIGRATIONS)})")
            for number in range(version, len(MIGRATIONS)):
                self._conn.execute(MIGRATIONS[number].encode())
            self._conn.execute("DELETE FROM yamori_schema")
            self._conn.execute("INSERT INTO yamori_schema (version) VALUES (%s)", (len(MIGRATIONS),))
            for tier in self.tiers[1:]:
                self._conn.execute(rollup_ddl(tier).encode())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self, purpose: Purpose) -> Iterator[Db]:
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()  # the server restarted: reconnect on the next call
        conn = self._conn
        try:
            if purpose == "read":
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            else:
                conn.execute("BEGIN")
                lock = "pg_advisory_xact_lock" if purpose == "maintain" else "pg_advisory_xact_lock_shared"
                conn.execute(f"SELECT {lock}(%s)", (LOCK_KEY,))
            yield cast(Db, _PgDb(conn))
            conn.execute("COMMIT")
        except psycopg.Error as err:
            if not conn.broken:
                conn.execute("ROLLBACK")
            raise StoreError(f"{self.where}: {_reason(err)}") from err
        except BaseException:
            if not conn.broken:
                conn.execute("ROLLBACK")
            raise

    def _bucket(self, column: str, resolution: int) -> str:
        return f"CAST(floor({column} / {resolution}) AS bigint) * {resolution}"


def _reason(err: psycopg.Error) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
