"""csvlog and jsonlog -> authentication-failure events.

These formats quote every field, so the names cannot forge structure; the source is the
structured remote-host column. A message whose host or names differ from the columns is still
reported, untrusted (someone is playing games with the names)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from ...records import AuthEvent, ParseError, ParseProblem
from .catalog import LOCALE_DIR, SQLSTATES, Catalog, catalog
from .prefix import iso_time
from .stderr import Suspicion

# csvlog columns (0-based), stable since 8.3 for what we read
C_TIME, C_USER, C_DB, C_PID, C_FROM, C_SEVERITY, C_STATE, C_MESSAGE, C_DETAIL = 0, 1, 2, 3, 4, 11, 12, 13, 14


class LogFormatError(ParseError):
    """A csvlog/jsonlog record that cannot be read, located by file and 1-based line."""

    def __init__(self, line: int, message: str, file: str | None = None) -> None:
        super().__init__(ParseProblem(file or "", line, message))


def split_host_port(text: str) -> str | None:
    """csvlog connection_from: 'host:port', '::1:40420' (no brackets), '[local]', ''."""
    if not text or text == "[local]":
        return None
    host, sep, port = text.rpartition(":")
    return host if sep and port.isdigit() else text


def _event(cat: Catalog, *, time: str | None, user: str | None, database: str | None, host: str | None,
           message: str, detail: str, state: str | None, line: int, file: str | None,
           suspicions: list[Suspicion]) -> AuthEvent | None:
    parses = cat.match(message)
    if not parses:
        return None
    consistent = [(t, f) for t, f in parses
                  if (f.get("user") is None or f.get("user") == user)
                  and (f.get("database") is None or f.get("database") == database)]
    reason = None
    if not consistent:
        reason = "the names in the message differ from the log's user/database columns"
        consistent = parses[:1]
    template, fields = consistent[0]
    if reason is None and fields.get("host") and host and fields["host"] != host:
        reason = "the host in the message differs from the connection's host"
    if reason is None and state and state not in SQLSTATES:
        return None   # same words, different error (e.g. a user's RAISE): not an auth failure
    if reason:
        suspicions.append(Suspicion(line, reason, user))
    replication = "host" in template.fields and "database" not in template.fields
    return AuthEvent(
        time=iso_time(time), source=host or fields.get("host"), user=user or fields.get("user"),
        database=None if replication else (database or fields.get("database")), kind=template.kind,
        encryption=cat.encryption_names.get(fields.get("encryption") or ""),
        role_exists=cat.role_exists(detail) if detail else None, lang=template.lang,
        trusted=reason is None, file=file, line=line)


def scan_csvlog(text: str | Iterable[str], langs: tuple[str, ...] = ("en", "ja"), *, file: str | None = None,
                start_line: int = 1, locale_dir: str = LOCALE_DIR) -> tuple[list[AuthEvent], list[Suspicion]]:
    cat = catalog(langs, locale_dir)
    events: list[AuthEvent] = []
    sus: list[Suspicion] = []
    stream = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(stream)
    line = start_line
    try:
        for row in reader:
            row_line, line = line, start_line + reader.line_num
            if len(row) < 15:
                if row:
                    raise LogFormatError(row_line, f"csvlog row has {len(row)} columns, expected at least 15", file)
                continue
            if row[C_STATE] not in SQLSTATES and not any(m in row[C_MESSAGE] for m in cat.markers):
                continue
            ev = _event(cat, time=row[C_TIME], user=row[C_USER] or None, database=row[C_DB] or None,
                        host=split_host_port(row[C_FROM]), message=row[C_MESSAGE], detail=row[C_DETAIL],
                        state=row[C_STATE] or None, line=row_line, file=file, suspicions=sus)
            if ev:
                events.append(ev)
    except csv.Error as err:
        raise LogFormatError(start_line + reader.line_num, f"not valid CSV: {err}", file) from None
    return events, sus


def iter_jsonlog(lines: Iterable[str], cat: Catalog, *, file: str | None, start_line: int,
                 suspicions: list[Suspicion]) -> Iterator[AuthEvent]:
    markers = [m.replace('"', '\\"') for m in cat.markers]   # as they appear inside a JSON string
    for n, raw in enumerate(lines, start_line):
        if not raw.strip():
            continue
        if '"state_code":"' not in raw and not any(m in raw for m in markers):
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as err:
            raise LogFormatError(n, f"not a JSON object: {err.msg} (column {err.colno})", file) from None
        if not isinstance(rec, dict) or not isinstance(rec.get("message"), str):
            raise LogFormatError(n, "jsonlog record without a \"message\" string", file)
        ev = _event(cat, time=_s(rec.get("timestamp")), user=_s(rec.get("user")), database=_s(rec.get("dbname")),
                    host=_s(rec.get("remote_host")) if rec.get("remote_host") != "[local]" else None,
                    message=rec["message"], detail=_s(rec.get("detail")) or "", state=_s(rec.get("state_code")),
                    line=n, file=file, suspicions=suspicions)
        if ev:
            yield ev


def scan_jsonlog(text: str, langs: tuple[str, ...] = ("en", "ja"), *, file: str | None = None,
                 start_line: int = 1, locale_dir: str = LOCALE_DIR) -> tuple[list[AuthEvent], list[Suspicion]]:
    sus: list[Suspicion] = []
    events = list(iter_jsonlog(text.split("\n"), catalog(langs, locale_dir), file=file, start_line=start_line,
                                     suspicions=sus))
    return events, sus


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
