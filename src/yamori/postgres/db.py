"""Thin psycopg 3 access: connect with a timeout, run a query into dict rows, say why it failed.

psycopg is imported inside the functions so `yamori --help` and the agent's start stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

Row = dict[str, Any]


class Unreachable(Exception):
    """The server could not be reached or refused us; the text is libpq's reason."""


def connect(dsn: str, *, timeout: int = 5, autocommit: bool = True,
            options: str | None = None) -> psycopg.Connection[Row]:
    """`options`: server settings for this session (libpq options=, e.g. "-c name=value")."""
    import psycopg
    from psycopg.rows import dict_row

    extra: dict[str, Any] = {"options": options} if options is not None else {}
    try:
        return psycopg.connect(dsn, connect_timeout=timeout, autocommit=autocommit,
                               row_factory=dict_row, application_name="yamori", **extra)
    except psycopg.Error as err:
        raise Unreachable(reason(err)) from err


def reason(err: BaseException) -> str:
    """libpq's own words, on one line (it may span several for multi-host conninfo)."""
    text = str(err).strip() or type(err).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def rows(conn: psycopg.Connection[Row], sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    with conn.cursor() as cur:
        cur.execute(sql, params)  # type: ignore[arg-type]  # our SQL is literal text
        return list(cur.fetchall()) if cur.description else []


def one(conn: psycopg.Connection[Row], sql: str, params: tuple[Any, ...] = ()) -> Row:
    found = rows(conn, sql, params)
    return found[0] if found else {}


def conninfo_host(dsn: str) -> str | None:
    """host= from a conninfo string or URI (None when it is a socket or absent)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        host = conninfo_to_dict(dsn).get("host")
    except Exception:  # a malformed dsn is reported when we connect
        return None
    if not host or str(host).startswith("/"):
        return None
    return str(host).split(",")[0]
