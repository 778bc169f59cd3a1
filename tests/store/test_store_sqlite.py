"""What is particular to the SQLite file: WAL, STRICT tables, versions, unreadable files, and
open_store() following the settings (behaviour shared with PostgreSQL: test_store_engine.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from yamori.config import ConfigError, parse_config
from yamori.store import StoreError, StoreNotFound, open_store
from yamori.store.schema import SCHEMA_VERSION
from yamori.store.sqlite import SqliteStore

# -- the file ----------------------------------------------------------------------------------

def test_file_is_wal_strict_and_versioned(tmp_path: Path) -> None:
    SqliteStore.open(tmp_path / "state" / "deep").close()
    db = tmp_path / "state" / "deep" / "yamori.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        tables = dict(conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").fetchall())
    assert set(tables) == {"series", "raw", "latest", "rollup_state", "findings", "retention_hold",
                           "rollup_300", "rollup_3600", "rollup_86400"}
    assert all("STRICT" in sql for sql in tables.values())


def test_newer_schema_and_garbage_files_are_clear_errors(tmp_path: Path) -> None:
    SqliteStore.open(tmp_path / "a").close()
    with sqlite3.connect(tmp_path / "a" / "yamori.sqlite") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"a/yamori.sqlite: written by a newer yamori \(schema 99"):
        SqliteStore.open(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "yamori.sqlite").write_bytes(b"not a database at all" * 200)
    with pytest.raises(StoreError, match=r"b/yamori\.sqlite: cannot open the store"):
        SqliteStore.open(tmp_path / "b")


def test_open_store_follows_the_settings(tmp_path: Path) -> None:
    settings = parse_config(
        f'[agent]\nstate_dir = "{tmp_path}/var"\n[store]\nretention = {{raw = "1d", "1m" = "3d"}}\n')
    with pytest.raises(StoreNotFound, match="no store at"):
        open_store(settings, create=False)
    store = open_store(settings)
    assert isinstance(store, SqliteStore) and [t.name for t in store.tiers] == ["raw", "1m"]
    store.close()
    # what opening the store would trip on is found when the config is read (issue 10), with its line
    with pytest.raises(ConfigError, match=r"yamori\.toml:1: store\.dsn: required for the postgres backend"):
        parse_config('[store]\nbackend = "postgres"\n')
    with pytest.raises(ConfigError, match=r"yamori\.toml:4: store\.retention\.raw: must keep at least 5m"):
        parse_config(f'[agent]\nstate_dir = "{tmp_path}/var"\n[store]\nretention = {{raw = "1m", "5m" = "1d"}}\n')


def test_a_database_locked_too_long_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path)
    store._conn.execute("PRAGMA busy_timeout = 50")  # instead of waiting the real 5 s
    other = sqlite3.connect(tmp_path / "yamori.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StoreError, match=r"yamori\.sqlite: database is locked"):
            store.maintain(0.0)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.maintain(0.0)  # usable again once the lock is gone
    store.close()
