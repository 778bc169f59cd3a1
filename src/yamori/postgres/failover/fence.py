"""The fence: a reachable old primary stops taking writes before the standby is promoted.

Everything is done from SQL and undone from SQL, and nothing of it is replicated (it lives in
postgresql.auto.conf, not in the catalog), so the standby that is promoted inherits none of it:

1. `ALTER SYSTEM SET session_preload_libraries = 'yamori_fenced_no_such_library'` + reload:
   every new session fails at start ("could not access file yamori_fenced_no_such_library")
   — whatever its role, method or database. Only a superuser that resets the setting in its
   startup packet (`PGOPTIONS='-c session_preload_libraries='`, as yamori does) still gets in.
2. `ALTER SYSTEM SET default_transaction_read_only = on`: such a session is read-only by default.
3. Every other client session is terminated.
4. Verified: a new plain connection must be refused, no other client session may remain,
   and a write (CREATE TABLE) in yamori's own session must fail as read-only.

Both settings survive a restart. `lift_text` prints the exact undo.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..db import Row, Unreachable, connect, one, rows

FENCE_LIBRARY = "yamori_fenced_no_such_library"
EXEMPT_OPTIONS = "-c session_preload_libraries="
TERMINATE_SQL = ("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity "
                 "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
OTHERS_SQL = ("SELECT count(*) AS n FROM pg_stat_activity "
              "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
PREVIOUS_SQL = ("SELECT setting, coalesce(sourcefile, '') AS sourcefile FROM pg_settings "
                "WHERE name = 'session_preload_libraries'")


class FenceError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class FenceResult:
    ended_sessions: int
    undo_sql: str


def connect_exempt(dsn: str, timeout: int, autocommit: bool = True):  # type: ignore[no-untyped-def]
    """Connect past a fence (superusers only); a role that may not reset the setting connects plainly."""
    try:
        return connect(dsn, timeout=timeout, autocommit=autocommit, options=EXEMPT_OPTIONS)
    except Unreachable as err:
        if "permission denied to set parameter" not in str(err):
            raise
    return connect(dsn, timeout=timeout, autocommit=autocommit)


def is_fence_refusal(message: str) -> bool:
    return FENCE_LIBRARY in message


def undo_sql(previous: Row) -> str:
    setting, source = str(previous.get("setting") or ""), str(previous.get("sourcefile") or "")
    if setting and setting != FENCE_LIBRARY and source.endswith("postgresql.auto.conf"):
        restore = "ALTER SYSTEM SET session_preload_libraries = '" + setting.replace("'", "''") + "'"
    else:
        restore = "ALTER SYSTEM RESET session_preload_libraries"
    return f"{restore}; ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();"


def lift_text(name: str, dsn_shown: str, undo: str | None = None) -> str:
    undo = undo or undo_sql({})
    return (f"{name} stays fenced (new sessions refused, read-only by default). To lift the fence, as a "
            f"superuser: PGOPTIONS='{EXEMPT_OPTIONS}' psql '{dsn_shown}' -c \"{undo}\"  "
            f"(or remove session_preload_libraries and default_transaction_read_only from its "
            f"postgresql.auto.conf and reload)")


def apply_fence(dsn: str, timeout: int, settle_seconds: float = 10.0) -> FenceResult:
    import psycopg

    with connect_exempt(dsn, timeout) as conn:
        if one(conn, "SELECT current_setting('is_superuser') AS su").get("su") != "on":
            raise FenceError("the role yamori connects as is not a superuser: it cannot fence this server")
        previous = one(conn, PREVIOUS_SQL)
        undo = undo_sql(previous)
        rows(conn, f"ALTER SYSTEM SET session_preload_libraries = '{FENCE_LIBRARY}'")
        rows(conn, "ALTER SYSTEM SET default_transaction_read_only = on")
        rows(conn, "SELECT pg_reload_conf()")
    deadline = time.monotonic() + settle_seconds
    while True:  # the postmaster applies the reload asynchronously: wait for a plain session to be refused
        try:
            connect(dsn, timeout=timeout).close()
        except Unreachable as err:
            if is_fence_refusal(str(err)):
                break
            raise FenceError(f"checking the fence: a new connection failed otherwise: {err}") from err
        if time.monotonic() > deadline:
            raise FenceError(f"new connections are still accepted {settle_seconds:.0f}s after the reload")
        time.sleep(0.1)
    with connect_exempt(dsn, timeout, autocommit=False) as conn:
        ended = int(one(conn, TERMINATE_SQL).get("n") or 0)
        conn.commit()
        while int(one(conn, OTHERS_SQL).get("n") or 0) > 0:
            conn.commit()
            if time.monotonic() > deadline:
                raise FenceError("client sessions remain after pg_terminate_backend")
            time.sleep(0.1)
        conn.commit()
        try:
            rows(conn, "CREATE TABLE yamori_fence_check (id int)")
        except psycopg.errors.ReadOnlySqlTransaction:
            conn.rollback()
        else:
            conn.rollback()
            raise FenceError("a write in a new session still succeeded: the server is not read-only")
    return FenceResult(ended, undo)


def lift_fence(dsn: str, timeout: int, undo: str | None = None) -> None:
    """The undo, run by yamori (tests; an operator abandoning a failover uses lift_text)."""
    with connect_exempt(dsn, timeout) as conn:
        for sql in (undo or undo_sql({})).split(";"):
            if sql.strip():
                rows(conn, sql.strip())
