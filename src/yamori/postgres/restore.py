"""Restore test: load the newest dump into a scratch database, count what arrived, drop it.

A dump that was never restored is a hope, not a backup. The scratch database is named
yamori_restore_<pid>_<time> and is always dropped (WITH FORCE), also after a failure.
"""

from __future__ import annotations

import glob
import gzip
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .db import Unreachable, connect, one, reason, rows

TABLES_SQL = ("SELECT count(*) AS n FROM pg_tables "
              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")


@dataclass(frozen=True, slots=True)
class RestoreResult:
    path: str
    ok: bool
    message: str
    seconds: float
    tables: int | None = None


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
    """The newest PostgreSQL client: pg_restore must be at least as new as the pg_dump that wrote it."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found (apt-get install postgresql-client)")
    return path


def restore_test(path: Path, dsn: str, timeout: float = 3600, connect_timeout: int = 5) -> RestoreResult:
    from psycopg.conninfo import make_conninfo

    started = time.monotonic()
    scratch = f"yamori_restore_{os.getpid()}_{int(time.time())}"
    try:
        kind = dump_format(path)
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
    except (Unreachable, OSError, subprocess.TimeoutExpired) as err:
        return RestoreResult(str(path), False, str(err), time.monotonic() - started)
    except Exception as err:  # psycopg errors: the server's words
        return RestoreResult(str(path), False, reason(err), time.monotonic() - started)
    seconds = time.monotonic() - started
    if error is not None:
        return RestoreResult(str(path), False, error, seconds)
    if tables == 0:
        return RestoreResult(str(path), False, "restored without errors but no table arrived", seconds, 0)
    return RestoreResult(str(path), True, f"{kind} dump restored: {tables} tables in {seconds:.1f}s", seconds, tables)


def _load(kind: str, path: Path, conninfo: str, timeout: float) -> str | None:
    """Run pg_restore or psql; None when it succeeded, else its last lines."""
    if kind in ("custom", "directory"):
        command = [client_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                   "-d", conninfo, str(path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    elif kind in ("plain", "plain-gzip"):
        command = [client_binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
        opener: Callable[..., IO[bytes]] = gzip.open if kind == "plain-gzip" else open  # type: ignore[assignment]
        done = _psql_stream(command, path, opener, timeout)
    else:
        return f"{path}: not a pg_dump file or directory"
    if done.returncode == 0:
        return None
    lines = [line for line in str(done.stderr).splitlines() if line.strip()]
    return f"{Path(command[0]).name} exited {done.returncode}: " + " | ".join(lines[-3:])


def _psql_stream(command: list[str], path: Path, opener: Callable[..., IO[bytes]],
                 timeout: float) -> subprocess.CompletedProcess[str]:
    """Feed the (maybe gzipped) SQL to psql in chunks: a dump can be far larger than memory."""
    with opener(path, "rb") as source, tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)
        assert proc.stdin is not None
        try:
            shutil.copyfileobj(source, proc.stdin)
        except BrokenPipeError:
            pass  # psql stopped at the first error (ON_ERROR_STOP); its stderr says why
        finally:
            with suppress(BrokenPipeError):
                proc.stdin.close()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        errors.seek(0)
        return subprocess.CompletedProcess(command, code, "", errors.read().decode("utf-8", "replace"))
