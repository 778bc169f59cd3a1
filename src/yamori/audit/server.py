"""The running server's own view: where its files are, what it loaded, and when.

PostgreSQL reads pg_hba.conf only at start and on reload; `pg_hba_file_rules` shows what the
file on disk says now. A file changed after `pg_conf_load_time()` is edited but not reloaded:
the rules you read are not the rules in force.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..records import Finding, Severity

_QUERIES = {
    "settings": "SELECT current_setting('hba_file'), current_setting('config_file'), "
                "current_setting('data_directory'), pg_conf_load_time(), current_setting('server_version_num')::int",
    "superusers": "SELECT rolname FROM pg_roles WHERE rolsuper",
    "hba_rules": "SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error "
                 "FROM pg_hba_file_rules ORDER BY line_number",
    "mtime": "SELECT modification FROM pg_stat_file(%s)",
    "pending": "SELECT name FROM pg_settings WHERE pending_restart",
}


if TYPE_CHECKING:
    import psycopg


class ServerError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ServerRule:
    line: int
    conn_type: str | None
    databases: tuple[str, ...]
    users: tuple[str, ...]
    address: str | None
    netmask: str | None
    method: str | None
    options: tuple[str, ...]
    error: str | None


@dataclass(slots=True)
class ServerView:
    dsn_label: str
    hba_file: str
    config_file: str
    data_directory: str
    loaded_at: datetime
    version_num: int
    superusers: frozenset[str] = frozenset()
    hba_rules: list[ServerRule] = field(default_factory=list)
    file_mtimes: dict[str, datetime] = field(default_factory=dict)
    pending_restart: list[str] = field(default_factory=list)


def read_server(dsn: str, timeout: float = 5.0) -> ServerView:
    import psycopg  # only when a server is configured: it costs the agent ~5 MB

    try:
        with psycopg.connect(dsn, connect_timeout=int(timeout), autocommit=True) as conn:
            return _read(conn, dsn)
    except psycopg.Error as err:
        raise ServerError(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__) from err


def _read(conn: psycopg.Connection[Any], dsn: str) -> ServerView:
    row = conn.execute(_QUERIES["settings"]).fetchone()
    if row is None:
        raise ServerError("the server returned no settings")
    hba, config, datadir, loaded, version = row
    view = ServerView(_label(dsn), hba, config, datadir, loaded, version)
    view.superusers = frozenset(r[0] for r in conn.execute(_QUERIES["superusers"]))
    view.hba_rules = [ServerRule(r[0], r[1], tuple(r[2] or ()), tuple(r[3] or ()), r[4], r[5], r[6],
                                 tuple(r[7] or ()), r[8]) for r in conn.execute(_QUERIES["hba_rules"])]
    view.pending_restart = [r[0] for r in conn.execute(_QUERIES["pending"])]
    # ALTER SYSTEM writes postgresql.auto.conf, which also needs a reload to take effect.
    for path in (hba, config, f"{datadir}/postgresql.auto.conf"):
        view.file_mtimes[path] = _mtime(conn, path)
    return view


def _mtime(conn: psycopg.Connection[Any], path: str) -> datetime:
    import psycopg

    # Prefer the local stat (nanoseconds); pg_stat_file only has whole seconds.
    try:
        stamp = os.stat(path).st_mtime
        return datetime.fromtimestamp(stamp).astimezone()
    except OSError:
        pass
    try:
        row = conn.execute(_QUERIES["mtime"], (path,)).fetchone()
        return row[0] if row else datetime.min.replace(tzinfo=datetime.now().astimezone().tzinfo)
    except psycopg.Error:
        return datetime.min.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _label(dsn: str) -> str:
    """The DSN without any password, for messages."""
    parts = [p for p in dsn.split() if not p.lower().startswith("password=")]
    return " ".join(parts) if "=" in dsn else dsn.split("@")[-1]


def check_server(view: ServerView, local_error_lines: set[tuple[str, int | None]] | None = None) -> list[Finding]:
    findings = []
    for path, mtime in view.file_mtimes.items():
        if mtime > view.loaded_at:
            findings.append(Finding(
                "hba.not_reloaded" if path == view.hba_file else "pgconf.not_reloaded", Severity.WARNING,
                f"{path} (server {view.dsn_label})",
                f"{path} was changed at {mtime:%Y-%m-%d %H:%M:%S} but the server last loaded its "
                f"configuration at {view.loaded_at:%Y-%m-%d %H:%M:%S}: the rules in force are not the "
                "ones in the file (edited but not reloaded).",
                "Check the file (SELECT * FROM pg_hba_file_rules WHERE error IS NOT NULL), then run "
                "SELECT pg_reload_conf(); or pg_ctlcluster ... reload.", path, None))
    for rule in view.hba_rules:
        if rule.error and (view.hba_file, rule.line) not in (local_error_lines or set()):
            findings.append(Finding(
                "hba.server_error", Severity.CRITICAL, f"{view.hba_file}:{rule.line}",
                f"PostgreSQL reports this line as invalid: {rule.error}. A reload is refused while it "
                "stays, and a restart fails.", "Fix the line, then reload.", view.hba_file, rule.line))
    if view.pending_restart:
        findings.append(Finding(
            "pgconf.pending_restart", Severity.INFO, f"{view.config_file} (server {view.dsn_label})",
            "These settings were changed but only take effect after a restart: "
            + ", ".join(view.pending_restart) + ".",
            "Plan a restart of PostgreSQL.", view.config_file, None))
    return findings
