"""The embedded store: one SQLite file in WAL mode (the rollup engine is in sql.py)."""

from __future__ import annotations

import sqlite3
import time as _time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from ..statefiles import private_file
from .base import StoreError, StoreNotFound
from .schema import ensure_rollups, migrate
from .sql import Db, Purpose, SqlStore, canonical_labels

__all__ = ["FILENAME", "SqliteStore", "canonical_labels"]

FILENAME = "yamori.sqlite"


class SqliteStore(SqlStore):
    """One caller at a time in this process (a lock serialises threads); other processes
    may read the same file while it is written (WAL)."""

    def __init__(self, path: Path, retention: Mapping[str, float], clock: Callable[[], float] = _time.time) -> None:
        super().__init__(retention, clock)
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is safe in WAL mode: a power cut may lose the last commits, never corrupt.
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # 1 MiB of page cache instead of SQLite's 2 MiB: a year graph reads a few hundred KB
            # of pages, and the agent's resident memory has a budget (64 MB with the dashboard)
            self._conn.execute("PRAGMA cache_size = -1024")
            migrate(self._conn, str(self.path))
            ensure_rollups(self._conn, self.tiers)
        except sqlite3.Error as err:
            raise StoreError(f"{self.path}: cannot open the store: {err}") from err

    @classmethod
    def open(cls, state_dir: Path, retention: Mapping[str, float] | None = None, *, create: bool = True,
             clock: Callable[[], float] = _time.time) -> SqliteStore:
        """The store of an agent: `state_dir/yamori.sqlite` (created unless create=False)."""
        path = Path(state_dir) / FILENAME
        if not create and not path.is_file():
            raise StoreNotFound(f"no store at {path} (`yamori run` creates it; agent.state_dir points here)")
        if create:
            try:
                private_file(path)  # state_dir 0700, the database 0600 (its -wal/-shm copy that)
            except OSError as err:
                raise StoreError(f"{path.parent}: cannot create the state directory: {err.strerror}") from err
        if retention is None:
            from ..config.store import StoreSettings
            retention = StoreSettings.model_validate({}).retention
        return cls(path, retention, clock)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self, purpose: Purpose) -> Iterator[Db]:
        # IMMEDIATE takes the write lock up front, so a write never fails half-way on BUSY.
        try:
            self._conn.execute("BEGIN" if purpose == "read" else "BEGIN IMMEDIATE")
            yield cast(Db, self._conn)
            self._conn.execute("COMMIT")
        except BaseException as err:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):  # locked past busy_timeout, disk full, I/O error
                raise StoreError(f"{self.path}: {err}") from err
            raise

    def _bucket(self, column: str, resolution: int) -> str:
        # Times are positive epoch seconds, so truncation is floor.
        return f"CAST({column} / {resolution} AS INTEGER) * {resolution}"
