"""A throwaway PostgreSQL cluster for restore tests, run by an unprivileged OS user.

Whatever SQL a dump carries (COPY ... TO PROGRAM, untrusted functions, ALTER SYSTEM) runs as
that user, inside a private temporary directory, on a server that listens on no TCP port (a
Unix socket in that directory only) and is stopped and removed afterwards. When yamori runs
as root the cluster runs as `user` (default nobody); otherwise as yamori's own user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .restore_bins import server_binary

PORT = 5432  # only names the socket file inside the private directory


@dataclass(frozen=True, slots=True)
class Sandbox:
    root: Path
    datadir: Path
    uid: int | None  # None: runs as ourselves

    @property
    def conninfo(self) -> str:
        return f"host={self.root} port={PORT} user=yamori dbname=postgres"

    def size(self) -> int:
        total = 0
        for base, _dirs, files in os.walk(self.datadir):
            for name in files:
                with suppress(OSError):
                    total += os.lstat(os.path.join(base, name)).st_size
        return total


def _sh(args: list[str], box: Sandbox, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a server program as the sandbox user, in its directory, with a bare environment."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C"}
    if box.uid is None:
        return subprocess.run(args, capture_output=True, text=True, cwd=box.root, env=env, timeout=timeout)
    entry = pwd.getpwuid(box.uid)
    return subprocess.run(args, capture_output=True, text=True, cwd=box.root, env=env, timeout=timeout,
                          user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])


def sandbox_uid(user: str) -> int | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError as err:
        raise OSError(f"restore sandbox user {user!r} does not exist") from err


@contextmanager
def throwaway_cluster(user: str = "nobody", parent: str | None = None, temp_file_limit_kb: int = 1048576,
                      start_timeout: int = 60) -> Iterator[Sandbox]:
    uid = sandbox_uid(user)
    root = Path(tempfile.mkdtemp(prefix="yamori-restore-", dir=parent))  # 0700
    box = Sandbox(root, root / "data", uid)
    try:
        if uid is not None:
            os.chown(root, uid, pwd.getpwuid(uid).pw_gid)
        _check(_sh([server_binary("initdb"), "-D", str(box.datadir), "-U", "yamori", "-A", "trust",
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], box, start_timeout))
        with open(box.datadir / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write(f"listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{root}'\n"
                       "unix_socket_permissions = 0700\nfsync = off\nsynchronous_commit = off\n"
                       "full_page_writes = off\nshared_buffers = 16MB\nmax_connections = 5\n"
                       f"temp_file_limit = {temp_file_limit_kb}\nlogging_collector = off\n")
        _check(_sh([server_binary("pg_ctl"), "-D", str(box.datadir), "-l", str(root / "server.log"),
                    "-w", "-t", str(start_timeout), "start"], box, start_timeout + 10))
        yield box
    finally:
        _stop(box)
        shutil.rmtree(root, ignore_errors=True)


def _stop(box: Sandbox) -> None:
    pidfile = box.datadir / "postmaster.pid"
    if not pidfile.exists():
        return
    with suppress(OSError, subprocess.SubprocessError):
        _sh([server_binary("pg_ctl"), "-D", str(box.datadir), "-m", "immediate", "-w", "stop"], box, 60)
    with suppress(OSError, ValueError, IndexError, ProcessLookupError):
        os.kill(int(pidfile.read_text().split()[0]), 9)  # its own postmaster, by PID


def _check(done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise OSError(f"{Path(str(done.args[0])).name} exited {done.returncode}: " + " | ".join(lines[-3:]))
