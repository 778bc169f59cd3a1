"""Real PostgreSQL clusters for tests: initdb in a temp dir, a free loopback port.

PostgreSQL refuses to run as root, so when the tests run as root (CI) the cluster runs as
the `postgres` system user. Clusters are stopped by their postmaster PID.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                           "(apt-get install postgresql)")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runas() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for root, dirs, files in os.walk(path):
            os.chown(root, user.pw_uid, user.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)


class Cluster:
    """One running cluster. `conf` lines are appended to postgresql.conf before start."""

    def __init__(self, base: Path, name: str = "pg", port: int | None = None) -> None:
        self.base = base
        self.datadir = base / name
        self.sockdir = base / f"{name}-sock"
        self.port = port or free_port()
        self.bindir = pg_bindir()
        self.logfile = base / f"{name}.server.log"

    # -- lifecycle ---------------------------------------------------------------
    def run(self, *args: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in args], check=check, text=True,
                              capture_output=True, cwd=self.base, **_runas(), **kw)  # type: ignore[call-overload]

    def init(self, *, auth: str = "trust", extra_conf: str = "", hba: str | None = None,
             locale: str = "C") -> Cluster:
        self.base.mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(exist_ok=True)
        _chown(self.base)
        self.run(self.bindir / "initdb", "-D", self.datadir, "-A", auth, "-U", "postgres",
                 f"--locale={locale}", "-E", "UTF8", "--no-sync")
        self.append_conf(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.sockdir}'\nfsync = off\n"
            f"shared_buffers = 16MB\nmax_connections = 30\n{extra_conf}\n"
        )
        if hba is not None:
            self.write_hba(hba)
        return self

    def append_conf(self, text: str) -> None:
        with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write(text)

    def write_hba(self, text: str) -> None:
        (self.datadir / "pg_hba.conf").write_text(text, encoding="utf-8")
        _chown(self.datadir)

    def start(self) -> Cluster:
        _chown(self.base)
        self.run(self.bindir / "pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        pid = self.pid()
        if pid is None:
            return
        self.run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop", check=False)

    def kill(self) -> None:
        """Stop by postmaster PID if pg_ctl did not."""
        pid = self.pid()
        if pid:
            with suppress(ProcessLookupError):
                os.kill(pid, 9)

    def reload(self) -> None:
        self.run(self.bindir / "pg_ctl", "-D", self.datadir, "reload")

    def pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    # -- use -----------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def psql(self, sql: str, *, db: str = "postgres", user: str = "postgres",
             host: str = "127.0.0.1", check: bool = True) -> str:
        out = self.run(self.bindir / "psql", "-X", "-A", "-t", "-h", host, "-p", str(self.port),
                       "-U", user, "-d", db, "-c", sql, check=check)
        return out.stdout.strip()

    def connect_attempt(self, *, user: str, db: str, host: str = "127.0.0.1",
                        password: str | None = None, sslmode: str = "disable") -> subprocess.CompletedProcess[str]:
        """A client connection that may fail (used to make the server log auth failures)."""
        env = dict(os.environ, PGPASSWORD=password or "", PGCONNECT_TIMEOUT="5", PGSSLMODE=sslmode)
        conninfo = f"host={host} port={self.port} dbname='{_q(db)}' user='{_q(user)}'"
        return subprocess.run([str(self.bindir / "psql"), "-X", "-w", "-c", "select 1", conninfo],
                              text=True, capture_output=True, env=env, timeout=30)

    def logs(self, pattern: str = "*") -> list[Path]:
        return sorted((self.datadir / "log").glob(pattern)) if (self.datadir / "log").is_dir() else []


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


@contextmanager
def running_cluster(base: Path, name: str = "pg", **init: object) -> Iterator[Cluster]:
    cluster = Cluster(base, name).init(**init)  # type: ignore[arg-type]
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        cluster.kill()
        shutil.rmtree(cluster.datadir, ignore_errors=True)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
