"""Real replication pairs, pgpool-II and BIND for the pg tests (loopback only, stopped by PID)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.pgcluster import Cluster, _chown, free_port, wait_for

REPLICATION_CONF = "wal_level = replica\nmax_wal_senders = 5\nmax_replication_slots = 5\nhot_standby = on\n" \
                   "wal_receiver_status_interval = 1s\nwal_retrieve_retry_interval = 1s\n"


def make_standby(primary: Cluster, base: Path, name: str, slot: str | None = None) -> Cluster:
    """pg_basebackup -R from the primary; cluster_name becomes the walreceiver's application_name."""
    standby = Cluster(base, name)
    standby.sockdir.mkdir(exist_ok=True)
    _chown(base)
    args = ["-D", str(standby.datadir), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-R", "-X", "stream", "--no-sync"]
    if slot:
        args += ["-C", "-S", slot]
    standby.run(standby.bindir / "pg_basebackup", *args)
    standby.append_conf(f"\nport = {standby.port}\nunix_socket_directories = '{standby.sockdir}'\n"
                        f"cluster_name = '{name}'\n")
    return standby.start()


@contextmanager
def replication_pair(base: Path, slot: str | None = "standby1",
                     extra_conf: str = "") -> Iterator[tuple[Cluster, Cluster]]:
    primary = Cluster(base, "primary").init(extra_conf=REPLICATION_CONF + extra_conf).start()
    standby: Cluster | None = None
    try:
        standby = make_standby(primary, base, "standby1", slot)
        wait_streaming(primary)
        yield primary, standby
    finally:
        for c in (standby, primary):
            if c is not None:
                c.stop("immediate")
                c.kill()


def wait_streaming(primary: Cluster, count: int = 1, timeout: float = 30) -> None:
    sql = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
    if not wait_for(lambda: primary.psql(sql) == str(count), timeout=timeout):
        raise AssertionError(f"{count} standby(s) not streaming after {timeout}s")


def write_config(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _stop_pid(pid: int | None, proc: subprocess.Popen[str] | None = None) -> None:
    if pid:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


PCP_PASSWORD = "pcp-test-only"


@dataclass(frozen=True)
class Pgpool:
    port: int
    pcp_port: int
    pcppass: Path  # a PCPPASSFILE for user "pgpool"


@contextmanager
def running_pgpool(base: Path, backends: list[Cluster], mode: str = "native_replication",
                   names: list[str] | None = None) -> Iterator[Pgpool]:
    """pgpool -n in the foreground on a free port over `backends` (trust auth, no pool_hba);
    PCP user "pgpool" with PCP_PASSWORD."""
    port, pcp_port = free_port(), free_port()
    workdir = base / "pgpool"
    workdir.mkdir(exist_ok=True)
    lines = [f"backend_clustering_mode = '{mode}'", "listen_addresses = '127.0.0.1'", f"port = {port}",
             "pcp_listen_addresses = '127.0.0.1'", f"pcp_port = {pcp_port}",
             f"unix_socket_directories = '{workdir}'", f"pcp_socket_dir = '{workdir}'",
             f"socket_dir = '{workdir}'",  # pgpool 4.3 (Debian 12) name of unix_socket_directories
             f"pid_file_name = '{workdir}/pgpool.pid'", f"logdir = '{workdir}'", "num_init_children = 4",
             "max_pool = 1", "enable_pool_hba = off", "load_balance_mode = off", "health_check_period = 1",
             "health_check_timeout = 2", "health_check_user = 'postgres'", "health_check_max_retries = 0",
             "sr_check_period = 1" if mode == "streaming_replication" else "sr_check_period = 0",
             "sr_check_user = 'postgres'", "failover_on_backend_error = on", "failover_command = ''",
             "replication_stop_on_mismatch = off", f"wd_ipc_socket_dir = '{workdir}'"]
    for i, b in enumerate(backends):
        lines += [f"backend_hostname{i} = '127.0.0.1'", f"backend_port{i} = {b.port}", f"backend_weight{i} = 1",
                  f"backend_data_directory{i} = '{b.datadir}'", f"backend_flag{i} = 'ALLOW_TO_FAILOVER'"]
        if names:  # streaming mode: pgpool matches pg_stat_replication.application_name
            lines.append(f"backend_application_name{i} = '{names[i]}'")
    conf = workdir / "pgpool.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    digest = hashlib.md5(PCP_PASSWORD.encode()).hexdigest()  # pcp.conf stores md5(password)
    (workdir / "pcp.conf").write_text(f"pgpool:{digest}\n", encoding="utf-8")
    pcppass = workdir / "pcppass"
    pcppass.write_text(f"127.0.0.1:{pcp_port}:pgpool:{PCP_PASSWORD}\n", encoding="utf-8")
    pcppass.chmod(0o600)
    log = open(workdir / "pgpool.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(["/usr/sbin/pgpool", "-n", "-f", str(conf), "-F", str(workdir / "pcp.conf"),
                             "-a", str(workdir / "pool_hba.conf")], stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_port(port, proc, workdir / "pgpool.log")
        _wait_port(pcp_port, proc, workdir / "pgpool.log")
        yield Pgpool(port, pcp_port, pcppass)
    finally:
        _stop_pid(proc.pid, proc)
        log.close()


def _wait_port(port: int, proc: subprocess.Popen[str], logfile: Path, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode}: {logfile.read_text()[-2000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} not listening after {timeout}s: {logfile.read_text()[-2000:]}")


TSIG_SECRET = "c2VjcmV0LWZvci15YW1vcmktdGVzdHMtb25seQ=="  # base64 of a test-only key


@contextmanager
def running_named(base: Path, zone: str = "example.test") -> Iterator[int]:
    """BIND in the foreground (-g) on 127.0.0.1:free port; the zone accepts TSIG-signed updates."""
    port = free_port()
    workdir = base / "named"
    workdir.mkdir(exist_ok=True)
    (workdir / "zone.db").write_text(textwrap.dedent(f"""\
        $TTL 300
        @ IN SOA ns.{zone}. admin.{zone}. 1 3600 600 86400 60
        @ IN NS ns.{zone}.
        ns IN A 127.0.0.1
        db IN A 192.0.2.1
        """), encoding="utf-8")
    (workdir / "named.conf").write_text(textwrap.dedent(f"""\
        key "yamori-key" {{ algorithm hmac-sha256; secret "{TSIG_SECRET}"; }};
        options {{
            directory "{workdir}";
            listen-on port {port} {{ 127.0.0.1; }};
            listen-on-v6 {{ none; }};
            pid-file "{workdir}/named.pid";
            recursion no;
            dnssec-validation no;
        }};
        controls {{ }};
        zone "{zone}" {{ type primary; file "{workdir}/zone.db"; update-policy {{ grant yamori-key zonesub ANY; }}; }};
        """), encoding="utf-8")
    shutil.chown(workdir, "bind", "bind")
    for p in workdir.iterdir():
        shutil.chown(p, "bind", "bind")
    log = open(workdir / "named.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(["/usr/sbin/named", "-g", "-u", "bind", "-c", str(workdir / "named.conf")],
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_dns(port, proc, workdir / "named.log", zone)
        yield port
    finally:
        _stop_pid(proc.pid, proc)
        log.close()


def _wait_dns(port: int, proc: subprocess.Popen[str], logfile: Path, zone: str, timeout: float = 30) -> None:
    import dns.message
    import dns.query

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"named exited {proc.returncode}: {logfile.read_text()[-2000:]}")
        with suppress(Exception):
            dns.query.udp(dns.message.make_query(f"ns.{zone}", "A"), "127.0.0.1", port=port, timeout=0.5)
            return
        time.sleep(0.1)
    raise RuntimeError(f"named not answering after {timeout}s: {logfile.read_text()[-2000:]}")
