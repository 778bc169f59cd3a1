"""The journal reader against the real journalctl, on journal files the test writes with the
real systemd-journal-remote (from journal export format): PostgreSQL's syslog chunks as journald
stores them, another program's entries, bytes that are not UTF-8, a restart on the saved cursor."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from test_guard_syslog import PREFIX, conn, fatal, pg_chunks
from tests.support.pgcluster import wait_for

from yamori.guard.journal import JournalReader

REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
               if Path(p).exists()), None)
# `make test` installs both as root (scripts/system-deps.sh); only a non-root run may lack them.
# As root a missing tool fails the tests instead of skipping them: a skip would hide an install step.
pytestmark = pytest.mark.skipif(os.geteuid() != 0 and (REMOTE is None or shutil.which("journalctl") is None),
                                reason="needs journalctl and systemd-journal-remote: run make test as root "
                                       "(scripts/system-deps.sh installs them)")


def export(entries: list[dict[bytes, bytes]], start_us: int) -> bytes:
    out = b""
    for i, fields in enumerate(entries):
        out += b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n" % (start_us + i, start_us + i)
        out += b"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
        for k, v in fields.items():
            if b"\n" in v or not v.isascii():
                out += k + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
            else:
                out += k + b"=" + v + b"\n"
        out += b"\n"
    return out


def pg(pid: int, seq: int, message: str) -> list[dict[bytes, bytes]]:
    chunks = pg_chunks(message)
    marks = ([f"[{seq}] ".encode()] if len(chunks) == 1
             else [f"[{seq}-{i}] ".encode() for i in range(1, len(chunks) + 1)])
    return [{b"SYSLOG_IDENTIFIER": b"postgres", b"_PID": str(pid).encode(), b"_UID": b"105",
             b"MESSAGE": m + c} for m, c in zip(marks, chunks, strict=True)]


def write_journal(path: Path, entries: list[dict[bytes, bytes]], start_us: int) -> None:
    subprocess.run([str(REMOTE), "-o", str(path), "-"], input=export(entries, start_us), check=True,
                   capture_output=True, timeout=30)


def read_all(reader: JournalReader, want: int) -> list:  # type: ignore[type-arg]
    got: list = []  # type: ignore[type-arg]
    wait_for(lambda: (got.extend(reader.poll()), len(got) >= want)[1], timeout=15, interval=0.1)
    time.sleep(0.3)
    got += reader.poll()
    return got


def test_journal_records_once_across_restarts(tmp_path: Path) -> None:
    now = int(time.time() * 1e6)
    first = (pg(41, 1, conn(41, "192.0.2.7")) + pg(42, 1, conn(42, "198.51.100.9"))
             + [{b"SYSLOG_IDENTIFIER": b"sshd", b"_PID": b"77", b"MESSAGE": b"[9-1] " + fatal(77, "x", "x").encode()}]
             + pg(41, 2, fatal(41, "alice", "192.0.2.7") + "\n\tnot UTF-8: cafQ")
             + pg(42, 2, fatal(42, "bob", "0.0.0.0")))
    for e in first:   # bytes that are not UTF-8: journalctl writes MESSAGE as an array of numbers
        e[b"MESSAGE"] = e[b"MESSAGE"].replace(b"cafQ", b"caf\xe9")
    write_journal(tmp_path / "a.journal", first, now - 10_000_000)
    state = tmp_path / "state"
    command = ["journalctl", f"--file={tmp_path}/*.journal"]
    reader = JournalReader(state, prefix=PREFIX, command=command)
    reader.start()
    try:
        got = read_all(reader, 2)
    finally:
        reader.stop()
    assert [(e.user, e.source, e.trusted) for e in got] == [("alice", "192.0.2.7", True), ("bob", "198.51.100.9", True)]
    # 7: the sshd entry is left out by journalctl itself (SYSLOG_IDENTIFIER=postgres)
    assert reader.entries == 7 and not reader.problems and (state / "journal.cursor").read_text().startswith("s=")

    write_journal(tmp_path / "b.journal", pg(43, 1, conn(43, "203.0.113.5")) + pg(43, 2, fatal(43, "carol", "x")),
                  now - 5_000_000)
    again = JournalReader(state, prefix=PREFIX, command=command)
    assert not any(a.startswith("--lines") or a.startswith("--since") for a in again.argv())
    again.start()
    try:
        got = read_all(again, 1)
    finally:
        again.stop()
    assert [(e.user, e.source) for e in got] == [("carol", "203.0.113.5")], again.entries   # alice and bob not again


def test_hand_built_journal_lines_and_bad_ones(tmp_path: Path) -> None:
    import json

    reader = JournalReader(tmp_path, prefix=PREFIX)
    messages = [e[b"MESSAGE"] for e in pg(44, 1, conn(44, "192.0.2.44")) + pg(44, 2, fatal(44, "d", "x"))]
    lines = [json.dumps({"SYSLOG_IDENTIFIER": "postgres", "_PID": "44", "MESSAGE": m.decode(),
                         "__CURSOR": f"s=x;i={i}"}) for i, m in enumerate(messages)]
    data = ("\n".join(lines) + "\nnot json\n[1]\n").encode()
    got = reader.feed(data[:50]) + reader.feed(data[50:])
    assert [(e.user, e.source) for e in got] == [("d", "192.0.2.44")]
    assert len(reader.problems) == 2 and all(p.startswith("journal: entry ") for p in reader.problems)
    assert (tmp_path / "journal.cursor").read_text() == f"s=x;i={len(lines) - 1}"


def test_the_guard_service_reads_the_journal(tmp_path: Path) -> None:
    from test_guard_service import ListSink

    from yamori.config import Settings
    from yamori.guard.service import GuardService

    write_journal(tmp_path / "a.journal", pg(51, 1, conn(51, "203.0.113.51")) + pg(51, 2, fatal(51, "h", "x")),
                  int(time.time() * 1e6) - 1_000_000)
    settings = Settings.model_validate({
        "agent": {"state_dir": str(tmp_path / "state")},
        "guard": {"logs": [str(tmp_path / "none-*.log")], "journal": True, "log_line_prefix": PREFIX,
                  "journalctl": ["journalctl", f"--file={tmp_path}/a.journal"]}})
    service = GuardService(settings)
    sink = ListSink()
    service.start(sink)
    try:
        got: list = []  # type: ignore[type-arg]
        wait_for(lambda: (got.extend(service.poll_once(sink)), len(got) >= 1)[1], timeout=15, interval=0.1)
    finally:
        assert service.journal is not None
        service.journal.stop()
    assert [(e.user, e.source, e.trusted) for e in got] == [("h", "203.0.113.51", True)]
    assert (tmp_path / "state" / "journal.cursor").exists()
