"""Restore test: load the newest dump somewhere harmless, count what arrived, throw it away.

A dump that was never restored is a hope, not a backup. But a dump is data a database user
shaped, so nothing in it may run with yamori's privileges:

- plain SQL dumps go to psql only after `dumpcheck` found no psql meta-command outside COPY
  data (psql would run `\\! cmd` as us); custom and directory dumps go to pg_restore, which
  runs no shell;
- the default target is a throwaway cluster run by an unprivileged user (`sandbox.py`), with
  a time limit and a limit on the size its data directory may reach;
- with `restore_dsn` the scratch database yamori_restore_<pid>_<time> on that server is always
  dropped (WITH FORCE); its password goes to the client in PGPASSWORD, never on the command line.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .db import Unreachable, connect, one, reason, rows
from .dumpcheck import scan_lines
from .restore_bins import server_binary

TABLES_SQL = ("SELECT count(*) AS n FROM pg_tables "
              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")


@dataclass(frozen=True, slots=True)
class RestoreResult:
    path: str
    ok: bool
    message: str
    seconds: float
    tables: int | None = None


class RestoreRefused(Exception):
    pass


def dump_format(path: Path) -> str:
    """custom / directory (pg_restore) or plain / plain-gzip (psql); from the content, not the name."""
    if path.is_dir():
        return "directory" if (path / "toc.dat").is_file() else "unknown"
    with open(path, "rb") as f:
        head = f.read(5)
    if head == b"PGDMP":
        return "custom"
    if head[:2] == b"\x1f\x8b":
        return "plain-gzip"
    return "plain"


def client_binary(name: str) -> str:
    return server_binary(name)


def _opener(kind: str) -> Callable[..., IO[bytes]]:
    return gzip.open if kind == "plain-gzip" else open  # type: ignore[return-value]


def check_plain_dump(path: Path, kind: str) -> set[str]:
    """Raise RestoreRefused naming file and line when psql would do more than send SQL; else
    the role names the dump assigns objects to."""
    with _opener(kind)(path, "rb") as raw:
        lines = (line.decode("latin-1") for line in raw)  # bytewise: every 0x5C byte counts
        try:
            problem, roles = scan_lines(lines)
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            raise RestoreRefused(f"{path}: cannot read: {err}") from err
    if problem is not None:
        raise RestoreRefused(problem.text(str(path)))
    return roles


def client_invocation(kind: str, path: Path, conninfo: str) -> tuple[list[str], dict[str, str]]:
    """argv and environment for psql / pg_restore: a password in the conninfo goes to PGPASSWORD."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    info = conninfo_to_dict(conninfo)
    password = info.pop("password", None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "yamori-restore"})
    if password is not None:
        env["PGPASSWORD"] = str(password)
    safe = make_conninfo("", **info)
    if kind in ("custom", "directory"):
        return [client_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                "-d", safe, str(path)], env
    return [client_binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", safe], env


def restore_test(path: Path, dsn: str, timeout: float = 3600, connect_timeout: int = 5) -> RestoreResult:
    """Into a scratch database on the server `dsn` names (`restore_dsn`)."""
    from psycopg.conninfo import make_conninfo

    started = time.monotonic()
    scratch = f"yamori_restore_{os.getpid()}_{int(time.time())}"
    try:
        kind = dump_format(path)
        if kind.startswith("plain"):
            check_plain_dump(path, kind)
        with connect(dsn, timeout=connect_timeout) as admin:
            rows(admin, f'CREATE DATABASE "{scratch}"')
        try:
            target = make_conninfo(dsn, dbname=scratch)
            error = _load(kind, path, target, timeout)
            if error is None:
                with connect(target, timeout=connect_timeout) as conn:
                    tables = int(one(conn, TABLES_SQL)["n"])
        finally:
            with connect(dsn, timeout=connect_timeout) as admin:
                rows(admin, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    except RestoreRefused as err:
        return RestoreResult(str(path), False, f"refused: {err}", time.monotonic() - started)
    except (Unreachable, OSError, subprocess.TimeoutExpired) as err:
        return RestoreResult(str(path), False, str(err), time.monotonic() - started)
    except Exception as err:  # psycopg errors: the server's words
        return RestoreResult(str(path), False, reason(err), time.monotonic() - started)
    return _result(path, kind, error, tables if error is None else None, time.monotonic() - started)


def restore_sandboxed(path: Path, user: str = "nobody", timeout: float = 3600,
                      max_bytes: int = 10 * 2**30, parent: str | None = None) -> RestoreResult:
    """Into a throwaway cluster run by `user` (see sandbox.py), stopped and removed afterwards."""
    from .sandbox import throwaway_cluster

    started = time.monotonic()
    try:
        kind = dump_format(path)
        roles: set[str] = set()
        if kind.startswith("plain"):
            roles = check_plain_dump(path, kind)
        elif kind == "unknown":
            raise RestoreRefused(f"{path}: not a pg_dump file or directory")
        with throwaway_cluster(user, parent, temp_file_limit_kb=max(1024, max_bytes // 1024)) as box:
            _create_roles(box.conninfo, roles)
            baseline = box.size()  # initdb's own files do not count

            def grown() -> int:
                return box.size() - baseline

            error = _load(kind, path, box.conninfo, timeout, size=grown, max_bytes=max_bytes)
            tables = None
            if error is None:
                with connect(box.conninfo, timeout=10) as conn:
                    tables = int(one(conn, TABLES_SQL)["n"])
    except RestoreRefused as err:
        return RestoreResult(str(path), False, f"refused: {err}", time.monotonic() - started)
    except (Unreachable, OSError, subprocess.TimeoutExpired) as err:
        return RestoreResult(str(path), False, str(err), time.monotonic() - started)
    except Exception as err:  # psycopg errors: the server's words
        return RestoreResult(str(path), False, reason(err), time.monotonic() - started)
    return _result(path, kind, error, tables, time.monotonic() - started)


def _create_roles(conninfo: str, roles: set[str]) -> None:
    """NOLOGIN roles the plain dump hands objects to (custom dumps use --no-owner instead)."""
    from psycopg import sql

    with connect(conninfo, timeout=10) as conn:
        existing = {r["rolname"] for r in rows(conn, "SELECT rolname FROM pg_roles")}
        for name in sorted(roles - existing)[:1000]:
            rows(conn, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)).as_string(conn))


def _result(path: Path, kind: str, error: str | None, tables: int | None, seconds: float) -> RestoreResult:
    if error is not None:
        return RestoreResult(str(path), False, error, seconds)
    if tables == 0:
        return RestoreResult(str(path), False, "restored without errors but no table arrived", seconds, 0)
    return RestoreResult(str(path), True, f"{kind} dump restored: {tables} tables in {seconds:.1f}s", seconds, tables)


def _load(kind: str, path: Path, conninfo: str, timeout: float, size: Callable[[], int] | None = None,
          max_bytes: int = 0) -> str | None:
    """Run pg_restore or psql; None when it succeeded, else its last lines."""
    if kind not in ("custom", "directory", "plain", "plain-gzip"):
        return f"{path}: not a pg_dump file or directory"
    command, env = client_invocation(kind, path, conninfo)
    with tempfile.TemporaryFile() as errors:
        plain = kind.startswith("plain")
        proc = subprocess.Popen(command, stdin=subprocess.PIPE if plain else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors, env=env)
        over = threading.Event()
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(proc, size, max_bytes, over, done), daemon=True)
        watcher.start()
        try:
            if plain:
                _feed(proc, path, _opener(kind))
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return f"{Path(command[0]).name} stopped: the restore took longer than {timeout:.0f}s"
        finally:
            done.set()
            watcher.join(timeout=5)
        if over.is_set():
            return f"{Path(command[0]).name} stopped: the restored data grew beyond {max_bytes:,} bytes"
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    if code == 0:
        return None
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"{Path(command[0]).name} exited {code}: " + " | ".join(lines[-3:])


def _watch(proc: subprocess.Popen[bytes], size: Callable[[], int] | None, max_bytes: int,
           over: threading.Event, done: threading.Event) -> None:
    while size is not None and max_bytes > 0 and not done.wait(0.5):
        if proc.poll() is not None:
            return
        if size() > max_bytes:
            over.set()
            proc.kill()
            return


def _feed(proc: subprocess.Popen[bytes], path: Path, opener: Callable[..., IO[bytes]]) -> None:
    """Feed the (maybe gzipped) SQL to psql in chunks: a dump can be far larger than memory."""
    assert proc.stdin is not None
    with opener(path, "rb") as source:
        try:
            shutil.copyfileobj(source, proc.stdin)
        except BrokenPipeError:
            pass  # psql stopped at the first error (ON_ERROR_STOP) or was killed; its stderr says why
        finally:
            with suppress(BrokenPipeError):
                proc.stdin.close()
