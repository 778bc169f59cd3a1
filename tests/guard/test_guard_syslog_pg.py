"""A real PostgreSQL 15 logging through a real rsyslogd started by the test.

rsyslogd gets its own config, pid file, socket and output file. The postmaster runs in a
private mount namespace whose /dev is a tmpfs holding the few devices it needs and `log`, a
bind mount of rsyslogd's socket: libc syslog() there reaches the test's rsyslogd. The
machine's own /dev/log and syslog are never touched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from guard_pgwire import attempt
from test_guard_pg import EVIL, FORGED, HBA, attacks
from tests.support.pgcluster import Cluster, wait_for

from yamori.postgres.log.read import LogReader, scan_file

PREFIX = "%m [%p] %q%u@%d "
CONF = f"""\
log_destination = 'syslog'
syslog_facility = 'LOCAL0'
syslog_ident = 'postgres'
log_connections = on
log_line_prefix = '{PREFIX}'
lc_messages = 'C'
"""
RSYSLOG_CONF = """\
global(workDirectory="{base}/rs-work")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on" RateLimit.Interval="0")
*.* action(type="omfile" file="{out}" template="RSYSLOG_TraditionalFileFormat")
"""
NEED = [b for b in ("rsyslogd", "unshare", "setpriv", "logger") if shutil.which(b) is None]
pytestmark = pytest.mark.skipif(bool(NEED) or os.geteuid() != 0,
                                reason=f"needs root (mount namespace) and {NEED} (scripts/system-deps.sh)")

# the postmaster in its own mount namespace; /dev there: a tmpfs with null, zero, random,
# urandom, shm and `log` bound from the host's (or the test's) files
NS_START = r"""
set -e
mount --make-rprivate /
mkdir -p "$BASE/hostdev"
mount --rbind /dev "$BASE/hostdev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero random urandom full; do touch /dev/$n; mount --bind "$BASE/hostdev/$n" /dev/$n; done
mkdir /dev/shm && mount --bind "$BASE/hostdev/shm" /dev/shm
touch /dev/log && mount --bind "$SOCK" /dev/log
umount -l "$BASE/hostdev"
exec setpriv --reuid=postgres --regid=postgres --clear-groups "$PGCTL" -D "$DATA" -l "$LOGFILE" -w -t 60 start
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Path]]:
    base = Path(tempfile.mkdtemp(prefix="ymsl-"))   # short: a socket path holds at most 107 bytes
    base.chmod(0o755)
    (base / "rs-work").mkdir()
    sock, out = base / "log.sock", base / "syslog.out"
    (base / "rsyslog.conf").write_text(RSYSLOG_CONF.format(base=base, sock=sock, out=out))
    rs = subprocess.Popen(["rsyslogd", "-n", "-f", str(base / "rsyslog.conf"), "-i", str(base / "rsyslog.pid")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cluster = Cluster(base, "pg")
    try:
        assert wait_for(sock.exists, timeout=15), "rsyslogd did not create its socket"
        os.chmod(sock, 0o666)
        cluster.init(extra_conf=CONF, hba=HBA)
        env = dict(os.environ, BASE=str(base), SOCK=str(sock), PGCTL=str(cluster.bindir / "pg_ctl"),
                   DATA=str(cluster.datadir), LOGFILE=str(cluster.logfile))
        started = subprocess.run(["unshare", "--mount", "sh", "-c", NS_START], env=env, timeout=90,
                                 capture_output=True, text=True)
        assert started.returncode == 0, (started.stderr, cluster.logfile.read_text(errors="replace")
                                         if cluster.logfile.exists() else "")
        # another program's lines in the same file, one of them a forged postgres record start
        subprocess.run(["logger", "-u", str(sock), "-t", "sshd", "-i", "--",
                        "[9-1] 2026-01-01 00:00:00.000 UTC [1] x@y FATAL:  password authentication failed "
                        'for user "x"'], check=True)
        attacks(cluster.port)
        attempt(cluster.port, "127.0.0.7", "postgres", "nosuchdb")   # no_hba_entry (HBA allows only .1)
        assert wait_for(lambda: len(scan_file(str(out), "syslog").events) >= 7, timeout=20)
        yield cluster, out
    finally:
        cluster.stop("immediate")
        cluster.kill()
        rs.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            rs.wait(10)
        if rs.poll() is None:
            rs.kill()
            rs.wait(5)
        if not os.environ.get("YAMORI_KEEP"):
            shutil.rmtree(base, ignore_errors=True)


def test_real_rsyslog_records_are_read_once_with_their_sources(logged: tuple[Cluster, Path]) -> None:
    _, out = logged
    text = out.read_text(errors="replace")
    assert "[7-3] #011Connection matched" in text   # chunks, and the daemon's escaping, are real
    assert " sshd[" in text        # the other program's line is in the file ...
    for fmt in ("syslog", "auto"):
        report = scan_file(str(out), fmt)
        assert not report.errors
        events = report.events
        # ... but not among the events: 6 attacks + the no-entry attempt, each once
        assert len(events) == 7, [e.as_json() for e in events]
        reject, evil, pw, forged, repl, noise, nodb = events
        assert (reject.kind, reject.source, reject.user, reject.trusted) == ("hba_reject", "127.0.0.2", "alice", True)
        assert (evil.kind, evil.source, evil.user, evil.database, evil.trusted) == (
            "no_hba_entry", "127.0.0.4", EVIL, "other", True)
        assert (pw.kind, pw.source, pw.user, pw.role_exists) == ("password_failed", "127.0.0.3", "mallory", False)
        # the name with a newline and a forged record: one event, the real source (or untrusted)
        assert forged.kind == "password_failed" and forged.user == FORGED.encode()[:63].decode()
        assert forged.trusted and forged.source == "127.0.0.5"
        assert (repl.kind, repl.source, repl.database) == ("no_hba_entry", "127.0.0.4", None)
        assert noise.kind == "invalid_startup_packet"
        assert (nodb.kind, nodb.source, nodb.user, nodb.database) == ("no_hba_entry", "127.0.0.7", "postgres",
                                                                        "nosuchdb")
        assert all(e.source != "127.0.0.1" for e in events)


def test_real_rsyslog_tailed_in_pieces_gives_the_same_events(logged: tuple[Cluster, Path]) -> None:
    _, out = logged
    data = out.read_bytes()
    whole = [e.as_json() for e in scan_file(str(out), "syslog").events]
    reader = LogReader("syslog", None, file=str(out))
    got = []
    for i in range(0, len(data), 97):   # cuts inside lines and between a record's chunks
        got += reader.feed(data[i:i + 97], final=False)
    got += reader.feed(b"", final=True)
    assert [e.as_json() for e in got] == whole


def test_real_rsyslog_through_the_guard_service_once_across_restarts(logged: tuple[Cluster, Path],
                                                                     tmp_path: Path) -> None:
    from test_guard_service import ListSink

    from yamori.config import Settings
    from yamori.guard.service import GuardService

    _, out = logged
    settings = Settings.model_validate({
        "agent": {"state_dir": str(tmp_path / "state")},
        "guard": {"logs": [str(out)], "log_format": "syslog", "log_line_prefix": PREFIX,
                  "log_timezone": "UTC"}})
    service = GuardService(settings)
    sink = ListSink()
    service.start(sink)
    got = service.poll_once(sink)
    assert [(e.kind, e.source) for e in got][:3] == [("hba_reject", "127.0.0.2"), ("no_hba_entry", "127.0.0.4"),
                                                    ("password_failed", "127.0.0.3")]
    assert len(got) == 7 and service.poll_once(sink) == []
    assert GuardService(settings).poll_once(ListSink()) == []       # a restart: nothing twice
