"""The syslog/journal joiner on hand-built lines: headers of rsyslog and syslog-ng, chunks as
PostgreSQL's write_syslog() cuts them (re-enacted below from its documented rules), other
programs' lines, forged starts, journal JSON entries."""

from __future__ import annotations

import json
import random

import pytest

from yamori.postgres.log.read import LogReader, detect_format
from yamori.postgres.log.syslog import PG_SYSLOG_LIMIT, JournalError, SyslogJoiner, journal_entry, looks_like_syslog

PREFIX = "%m [%p] %q%u@%d "
T = "2026-11-24 10:00:00.000 UTC"


def pg_chunks(message: str, limit: int = PG_SYSLOG_LIMIT) -> list[bytes]:
    """write_syslog(): one chunk per line, a line longer than `limit` cut at its last whitespace
    within the limit (the whitespace starts the next chunk) or hard at the limit."""
    out, line = [], message.encode()
    while line:
        if line[:1] == b"\n":
            line = line[1:]
            continue
        nl = line.find(b"\n")
        n = min(nl if nl >= 0 else len(line), limit)
        while n < len(line) and line[n] & 0xC0 == 0x80:   # pg_mbcliplen: whole letters only
            n -= 1
        if n < len(line) and not line[n:n + 1].isspace():
            i = n - 1
            while i > 0 and not line[i:i + 1].isspace():
                i -= 1
            if i > 0:
                n = i
        out.append(line[:n])
        line = line[n:]
    return out


def syslog_lines(pid: int, seq: int, message: str, *, ident: str = "postgres",
                 stamp: str = "Nov 24 10:00:00") -> list[bytes]:
    chunks = pg_chunks(message)
    tag = f"{stamp} db1 {ident}[{pid}]: ".encode()
    if len(chunks) == 1:
        return [tag + f"[{seq}] ".encode() + chunks[0]]
    # rsyslog escapes a tab as #011
    return [tag + f"[{seq}-{i}] ".encode() + c.replace(b"\t", b"#011") for i, c in enumerate(chunks, 1)]


def fatal(pid: int, user: str, host: str) -> str:
    return (f"{T} [{pid}] {user}@shop FATAL:  password authentication failed for user \"{user}\"\n"
            f"{T} [{pid}] {user}@shop DETAIL:  Connection matched pg_hba.conf line 5: \"host all all {host}/32 scram\"")


def conn(pid: int, host: str) -> str:
    return f"{T} [{pid}] [unknown]@[unknown] LOG:  connection received: host={host} port=5000"


def events(data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    reader = LogReader("syslog", PREFIX, file="syslog", **kw)  # type: ignore[arg-type]
    return reader.feed(data, final=True), reader


def test_chunks_are_joined_back_into_the_stderr_record() -> None:
    message = fatal(41, "alice", "192.0.2.7") + "\n\tsecond line of a detail"
    lines = syslog_lines(41, 7, message)
    assert [ln.split(b"]: ")[1][:6] for ln in lines] == [b"[7-1] ", b"[7-2] ", b"[7-3] "]
    out = SyslogJoiner().feed(b"\n".join(lines) + b"\n", final=True)
    assert out == message.encode() + b"\n"


def test_events_with_sources_from_syslog_lines() -> None:
    lines = (syslog_lines(41, 1, conn(41, "192.0.2.7")) + syslog_lines(42, 1, conn(42, "198.51.100.9"))
             + [b"Nov 24 10:00:00 db1 sshd[77]: Accepted publickey for root"]
             + syslog_lines(41, 2, fatal(41, "alice", "192.0.2.7")) + syslog_lines(42, 2, fatal(42, "bob", "0.0.0.0")))
    evs, reader = events(b"\n".join(lines) + b"\n")
    assert [(e.user, e.source, e.trusted) for e in evs] == [("alice", "192.0.2.7", True), ("bob", "198.51.100.9", True)]
    assert reader.syslog is not None and reader.syslog.ignored == 1


def test_interleaved_chunks_of_two_backends() -> None:
    a = syslog_lines(41, 2, fatal(41, "alice", "192.0.2.7"))
    b = syslog_lines(42, 2, fatal(42, "bob", "198.51.100.9"))
    mixed = [a[0], b[0], a[1], b[1]]
    out = SyslogJoiner().feed(b"\n".join(mixed) + b"\n", final=True)
    assert out.count(b"FATAL") == 2 and out.count(b"DETAIL") == 2
    assert b"DETAIL" in out.split(b"\n")[1] and b"[41]" in out.split(b"\n")[1]


@pytest.mark.parametrize("stamp", ["Nov  4 10:00:00", "2026-11-04T10:00:00.123456+00:00", "2026-11-04T10:00:00Z"])
def test_rsyslog_and_syslog_ng_headers(stamp: str) -> None:
    lines = syslog_lines(41, 1, conn(41, "192.0.2.7"), stamp=stamp) + syslog_lines(
        41, 2, fatal(41, "alice", "192.0.2.7"), stamp=stamp)
    evs, _ = events(b"\n".join(lines) + b"\n")
    assert [(e.source, e.trusted) for e in evs] == [("192.0.2.7", True)]
    assert detect_format("/var/log/messages", b"\n".join(lines) + b"\n") == "syslog"


def test_other_programs_and_other_idents_are_ignored() -> None:
    forged = b"Nov 24 10:00:00 db1 evil[66]: [3-1] " + fatal(66, "x", "192.0.2.66").split("\n")[0].encode()
    lines = [forged, *syslog_lines(43, 1, fatal(43, "carol", "192.0.2.8"), ident="pg-main")]
    evs, reader = events(b"\n".join(lines) + b"\n")
    assert evs == [] and reader.syslog is not None and reader.syslog.ignored == 3
    evs, _ = events(b"\n".join(lines) + b"\n", syslog_ident="pg-main")
    assert [e.user for e in evs] == ["carol"]


def test_a_continuation_never_starts_a_record() -> None:
    # a continuation whose record is not open (wrong pid, wrong seq, skipped part) is dropped
    body = fatal(44, "dave", "192.0.2.9").split("\n")[0].encode()
    lines = [b"Nov 24 10:00:00 db1 postgres[44]: [5-2] " + body,
             b"Nov 24 10:00:00 db1 postgres[44]: [6-1] " + f"{T} [44] [unknown]@[unknown] LOG:  x".encode(),
             b"Nov 24 10:00:00 db1 postgres[44]: [6-3] " + body,
             b"Nov 24 10:00:00 db1 postgres[45]: [6-2] " + body]
    j = SyslogJoiner()
    out = j.feed(b"\n".join(lines) + b"\n", final=True)
    assert b"FATAL" not in out and j.dropped == 3


def test_a_forged_record_at_a_length_cut_stays_inside_its_line() -> None:
    # a hostile statement longer than the limit, with a forged record start right at the cut
    forged = f"{T} [9] eve@shop FATAL:  password authentication failed for user \"victim\""
    for filler in ("x" * (PG_SYSLOG_LIMIT - 60), "y " * 500, "z" * 3000):
        stmt = f"{T} [46] eve@shop STATEMENT:  select '{filler}" + forged + "'"
        lines = syslog_lines(46, 3, stmt)
        assert len(lines) > 1
        out = SyslogJoiner().feed(b"\n".join(lines) + b"\n", final=True)
        assert out == stmt.encode() + b"\n"          # one line, as in the stderr log
        evs, _ = events(b"\n".join(lines) + b"\n")
        assert evs == []


def _breaks(text: str) -> set[int]:
    """Where the lines of `text` start, as offsets into the text without its newlines."""
    out, at = set(), 0
    for line in text.split("\n"):
        at += len(line)
        out.add(at)
    return out


def test_random_messages_come_back_as_written() -> None:
    rng = random.Random(9)
    alphabet = "ab \t\nFATAL:éあ"
    exact = 0
    for _ in range(300):
        words = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 2500)))
        message = f"{T} [47] u@d LOG:  " + words.replace("\n", "\n\t").strip("\n")
        out = SyslogJoiner().feed(b"\n".join(syslog_lines(47, 1, message)) + b"\n", final=True)
        got = out.decode().replace("#011", "\t").removesuffix("\n")
        want = "\n".join(ln for ln in message.split("\n") if ln)
        assert got.replace("\n", "") == want.replace("\n", "")
        # no line starts where the message has none (a newline next to a length cut may be lost)
        assert _breaks(got) <= _breaks(want)
        exact += got == want
    assert exact > 250


def test_tailing_in_pieces_and_bounded_state() -> None:
    data = b"\n".join(syslog_lines(48, 1, conn(48, "192.0.2.10")) + syslog_lines(48, 2, fatal(48, "f", "x"))) + b"\n"
    whole, _ = events(data)
    reader = LogReader("syslog", PREFIX)
    got = []
    for i in range(0, len(data), 7):
        got += reader.feed(data[i:i + 7])
    got += reader.feed(b"", final=True)
    assert [e.as_json() for e in got] == [e.as_json() for e in whole] and len(whole) == 1
    j = SyslogJoiner()
    many = b"".join(b"Nov 24 10:00:00 db1 postgres[%d]: [1-1] x\n" % pid for pid in range(2000))
    j.feed(many)
    assert len(j.open) <= 256


def test_detection_needs_most_lines_to_be_syslog() -> None:
    assert not looks_like_syslog(f"{T} [1] LOG:  hello\n".encode() * 5)
    assert detect_format("x.log", f"{T} [1] LOG:  hello\n".encode()) == "stderr"


def test_journal_entries() -> None:
    msg = fatal(50, "gina", "192.0.2.11").split("\n")[0]
    entry = {"SYSLOG_IDENTIFIER": "postgres", "_PID": "50", "_UID": "105", "MESSAGE": f"[3-1] {msg}"}
    assert journal_entry(json.dumps(entry)) == (b"50", f"[3-1] {msg}".encode())
    raw = dict(entry, MESSAGE=list(b"[4] caf\xe9 \xff"))        # not UTF-8: an array of bytes
    assert journal_entry(json.dumps(raw)) == (b"50", b"[4] caf\xe9 \xff")
    assert journal_entry(json.dumps(dict(entry, SYSLOG_IDENTIFIER="sshd"))) is None
    assert journal_entry(json.dumps(entry), uid=0) is None        # _UID is set by journald, not the sender
    assert journal_entry(json.dumps(dict(entry, _PID="x"))) is None
    with pytest.raises(JournalError):
        journal_entry("[1, 2]")
    with pytest.raises(JournalError):
        journal_entry("{not json")
