"""Alert states and the notification outbox, in one SQLite file (WAL).

A state change and the notifications it causes are written in one transaction, so after a
crash either both exist or neither. Each notification has one delivery row per notifier;
a row is marked delivered right after the server accepted it and is never sent again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..records import State
from ..redact import mask_passwords, scrub
from ..statefiles import private_file
from .messages import Notification
from .state import Alert, Kind

SCHEMA_VERSION = 1
KEEP_DELIVERED = 30 * 86400.0
"""Delivered notifications are kept this long (history for `yamori alerts`), then pruned."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert (
    rule TEXT NOT NULL, subject TEXT NOT NULL, source TEXT NOT NULL,
    state INTEGER NOT NULL, since REAL NOT NULL,
    condition INTEGER NOT NULL, condition_since REAL NOT NULL,
    message TEXT NOT NULL, advice TEXT NOT NULL,
    notified_at REAL, announced INTEGER NOT NULL, changes TEXT NOT NULL,
    PRIMARY KEY (rule, subject));
CREATE TABLE IF NOT EXISTS notification (
    id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,
    kind TEXT NOT NULL, state INTEGER NOT NULL, previous INTEGER NOT NULL,
    since REAL NOT NULL, time REAL NOT NULL, message TEXT NOT NULL, advice TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delivery (
    notification INTEGER NOT NULL REFERENCES notification(id) ON DELETE CASCADE,
    notifier TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    delivered_at REAL, last_error TEXT,
    PRIMARY KEY (notification, notifier));
CREATE INDEX IF NOT EXISTS delivery_pending ON delivery (notifier, next_attempt) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS notifier (
    name TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, last_error_at REAL, last_success_at REAL);
CREATE TABLE IF NOT EXISTS event (
    rule TEXT NOT NULL, subject TEXT NOT NULL, last REAL NOT NULL, PRIMARY KEY (rule, subject));
CREATE TABLE IF NOT EXISTS ack (
    rule TEXT NOT NULL, subject TEXT NOT NULL, who TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (rule, subject));
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """A delivery row that is due."""

    note: Notification
    notifier: str
    attempts: int


@dataclass(frozen=True, slots=True)
class NotifierStat:
    name: str
    failures: int
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None


class OutboxError(Exception):
    """The alert database cannot be opened or read (names the file)."""


class Outbox:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            self.db = _connect(path, readonly)
        except sqlite3.Error as err:
            raise OutboxError(f"{path}: cannot open the alert database: {err}") from err

    # -- alert states ---------------------------------------------------------------------
    def load_alerts(self) -> list[Alert]:
        # (a database written before acknowledgements, read-only by the CLI, has no ack table)
        has_ack = bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ack'"))
        ack = ("k.who, k.at FROM alert a LEFT JOIN ack k USING (rule, subject)" if has_ack
               else "NULL, NULL FROM alert a")
        rows = self._read("SELECT a.rule, a.subject, a.source, a.state, a.since, a.condition, a.condition_since,"
                          f" a.message, a.advice, a.notified_at, a.announced, a.changes, {ack} ORDER BY a.since")
        return [_alert(row) for row in rows]

    def commit(self, changed: Iterable[Alert], removed: Iterable[tuple[str, str]],
               notes: Sequence[Notification], notifiers: Sequence[str], now: float,
               event: tuple[str, str] | None = None) -> list[Notification]:
        """Write alert changes, the event mark and the notifications they cause in one
        transaction; returns the notifications with their ids."""
        stored: list[Notification] = []
        with self.db:
            if event is not None:
                self.db.execute("INSERT OR REPLACE INTO event VALUES (?,?,?)", (*event, now))
            changed = list(changed)
            self.db.executemany("INSERT OR REPLACE INTO alert VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                                [_alert_row(a) for a in changed])
            self.db.executemany("INSERT OR REPLACE INTO ack VALUES (?,?,?,?)",
                                [(a.rule, a.subject, a.acknowledged_by, a.acknowledged_at or now)
                                 for a in changed if a.acknowledged_by])
            self.db.executemany("DELETE FROM ack WHERE rule = ? AND subject = ?",
                                [a.key for a in changed if not a.acknowledged_by] + list(removed))
            self.db.executemany("DELETE FROM alert WHERE rule = ? AND subject = ?", list(removed))
            for note in notes:
                stored.append(self._enqueue(note, _targets(note, notifiers), now))
        return stored

    def _enqueue(self, note: Notification, notifiers: Sequence[str], now: float) -> Notification:
        cur = self.db.execute(
            "INSERT INTO notification (host, rule, subject, kind, state, previous, since, time, message, advice)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (note.host, note.rule, note.subject, str(note.kind), int(note.state), int(note.previous),
             note.since, note.time, mask_passwords(note.message), mask_passwords(note.advice)))
        ident = int(cur.lastrowid or 0)
        self.db.executemany("INSERT INTO delivery (notification, notifier, next_attempt) VALUES (?,?,?)",
                            [(ident, name, now) for name in notifiers])
        return _with_id(note, ident)

    # -- one-shot events --------------------------------------------------------------------
    def event_last(self, rule: str, subject: str) -> float | None:
        rows = self._read("SELECT last FROM event WHERE rule = ? AND subject = ?", (rule, subject))
        return float(rows[0][0]) if rows else None

    # -- delivery -------------------------------------------------------------------------
    def due(self, now: float, notifiers: Sequence[str]) -> list[Pending]:
        rows = self._read(
            f"SELECT {_NOTE_COLUMNS}, d.notifier, d.attempts FROM delivery d"
            " JOIN notification n ON n.id = d.notification"
            f" WHERE d.delivered_at IS NULL AND d.next_attempt <= ? AND d.notifier IN ({_marks(notifiers)})"
            " ORDER BY n.id, d.notifier", (now, *notifiers))
        return [Pending(_note(row[:11]), row[11], row[12]) for row in rows]

    def next_due(self, notifiers: Sequence[str]) -> float | None:
        rows = self._read("SELECT min(next_attempt) FROM delivery WHERE delivered_at IS NULL"
                          f" AND notifier IN ({_marks(notifiers)})", tuple(notifiers))
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def pending_count(self, notifiers: Sequence[str]) -> int:
        rows = self._read("SELECT count(*) FROM delivery WHERE delivered_at IS NULL"
                          f" AND notifier IN ({_marks(notifiers)})", tuple(notifiers))
        return int(rows[0][0])

    def delivered(self, note_id: int, notifier: str, now: float) -> None:
        with self.db:
            self.db.execute("UPDATE delivery SET delivered_at = ?, attempts = attempts + 1"
                            " WHERE notification = ? AND notifier = ?", (now, note_id, notifier))
            self.db.execute("INSERT INTO notifier (name, last_success_at) VALUES (?, ?) ON CONFLICT (name)"
                            " DO UPDATE SET failures = 0, last_success_at = excluded.last_success_at",
                            (notifier, now))

    def failed(self, note_id: int, notifier: str, error: str, now: float, retry_at: float) -> int:
        """Record a failed attempt; every other waiting row of that notifier waits as long
        (the server is down for all of them). Returns the notifier's consecutive failures."""
        error = scrub(error)  # a webhook URL in the error is often the secret itself
        with self.db:
            self.db.execute("UPDATE delivery SET attempts = attempts + 1, last_error = ?, next_attempt = ?"
                            " WHERE notification = ? AND notifier = ?", (error, retry_at, note_id, notifier))
            self.db.execute("UPDATE delivery SET next_attempt = ? WHERE notifier = ? AND delivered_at IS NULL"
                            " AND next_attempt < ?", (retry_at, notifier, retry_at))
            self.db.execute("INSERT INTO notifier (name, failures, last_error, last_error_at) VALUES (?, 1, ?, ?)"
                            " ON CONFLICT (name) DO UPDATE SET failures = failures + 1,"
                            " last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                            (notifier, error, now))
        rows = self._read("SELECT failures FROM notifier WHERE name = ?", (notifier,))
        return int(rows[0][0])

    def release(self, now: float) -> None:
        """After a restart, waiting rows are tried at once rather than at their old backoff."""
        with self.db:
            self.db.execute("UPDATE delivery SET next_attempt = ? WHERE delivered_at IS NULL AND next_attempt > ?",
                            (now, now))

    def notifier_stats(self) -> list[NotifierStat]:
        rows = self._read("SELECT name, failures, last_error, last_error_at, last_success_at FROM notifier"
                          " ORDER BY name")
        return [NotifierStat(*row) for row in rows]

    def prune(self, now: float) -> None:
        with self.db:
            self.db.execute("DELETE FROM notification WHERE time < ? AND NOT EXISTS (SELECT 1 FROM delivery d"
                            " WHERE d.notification = notification.id AND d.delivered_at IS NULL)",
                            (now - KEEP_DELIVERED,))
            self.db.execute("DELETE FROM event WHERE last < ?", (now - KEEP_DELIVERED,))

    def close(self) -> None:
        self.db.close()

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise OutboxError(f"{self.path}: cannot read the alert database: {err}") from err


_NOTE_COLUMNS = "n.host, n.rule, n.subject, n.kind, n.state, n.previous, n.since, n.time, n.message, n.advice, n.id"


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        # mode=ro: the agent may be writing; WAL lets us read a consistent snapshot meanwhile.
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
        return db
    private_file(path)  # 0600 before SQLite writes; its -wal and -shm copy that
    db = sqlite3.connect(path, timeout=10.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # few writes; an accepted-but-unmarked mail is the cost of less
    db.execute("PRAGMA foreign_keys=ON")
    with db:
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return db


def _targets(note: Notification, notifiers: Sequence[str]) -> list[str]:
    # "the mail server is failing" is not sent through that same mail server
    if note.rule == "notify.failing":
        return [name for name in notifiers if name != note.subject]
    return list(notifiers)


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items)) or "NULL"


def _alert_row(a: Alert) -> tuple[object, ...]:
    return (a.rule, a.subject, a.source, int(a.state), a.since, int(a.condition), a.condition_since,
            mask_passwords(a.message), mask_passwords(a.advice), a.notified_at, int(a.announced),
            json.dumps(list(a.changes)))


def _alert(row: tuple[Any, ...]) -> Alert:
    (rule, subject, source, state, since, condition, condition_since, message, advice, notified_at,
     announced, changes, who, at) = row
    return Alert(str(rule), str(subject), str(source), State(state), float(since),
                 State(condition), float(condition_since), str(message), str(advice),
                 None if notified_at is None else float(notified_at),
                 State(announced), tuple(json.loads(str(changes))), str(who or ""),
                 None if at is None or not who else float(at))


def _note(row: tuple[Any, ...]) -> Notification:
    host, rule, subject, kind, state, previous, since, time, message, advice, ident = row
    return Notification(str(host), str(rule), str(subject), Kind(kind), State(state),
                        State(previous), float(since), float(time), str(message), str(advice),
                        int(ident))


def _with_id(note: Notification, ident: int) -> Notification:
    return Notification(note.host, note.rule, note.subject, note.kind, note.state, note.previous, note.since,
                        note.time, note.message, note.advice, ident)
