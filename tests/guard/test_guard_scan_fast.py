"""The fast `guard scan`: two processes, one-match lines, pre-built JSON — same answers as the
plain sequential pass, byte for byte, on ordinary and hostile logs."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from test_guard_fuzz import VICTIM, connection, victim_session  # (pytest puts this folder on sys.path)

from support.loggen import generate_log
from yamori.guard import scanout
from yamori.guard.scanout import ScanTally, event_json
from yamori.postgres.log import split as logsplit
from yamori.postgres.log.prefix import DEBIAN_PREFIX
from yamori.postgres.log.read import scan_file
from yamori.postgres.log.stderr import StderrScanner
from yamori.records import AuthEvent

TS = "2026-11-24 23:43:01.757 UTC"
ODD = [None, "", 'a"b\\c\n\t\x00\x1f\x7f', "\u2028日本語", "\ud800", "[unknown]", "x" * 63]


def test_event_json_is_json_dumps() -> None:
    rnd = random.Random(3)
    for _ in range(3000):
        ev = AuthEvent(time=rnd.choice(ODD), source=rnd.choice(ODD), user=rnd.choice(ODD),
                       database=rnd.choice(ODD), kind=rnd.choice(["password_failed", 'k"']),
                       encryption=rnd.choice(ODD), role_exists=rnd.choice([None, True, False]),
                       lang=rnd.choice(["en", "ja"]), trusted=rnd.choice([True, False]), file=None, line=1)
        assert event_json(ev) == json.dumps(ev.as_json(), ensure_ascii=False)


def _hostile_log(tmp_path: Path, lines: int) -> Path:
    """The bench's synthetic log with hostile sessions, interleaved sessions and a failure whose
    `connection received` lies more than the lookback before it, spread over the whole file."""
    gen = tmp_path / "gen.log"
    generate_log(lines, gen)
    rows = gen.read_bytes().split(b"\n")
    rnd = random.Random(11)
    names = ['evil", database "postgres", no encryption', f"x\n{TS} [4242] a@b FATAL:  boo", "plain", "[unknown]",
             'q"@, :', "a\tb"]
    for at in sorted(rnd.sample(range(1, len(rows) - 1), 60), reverse=True):
        text = (victim_session() if rnd.random() < 0.3 else "") + connection(
            rnd.randrange(100, 200), rnd.choice(["198.51.100.7", "2001:db8::66"]), rnd.choice(names),
            rnd.choice(names), rnd.randrange(3))
        rows[at:at] = text.encode().rstrip(b"\n").split(b"\n")
    # interleaving: a failure whose connection line is a few lines earlier
    for at in sorted(rnd.sample(range(10, len(rows) - 10), 40), reverse=True):
        pid = f"777{at}"
        rows[at:at] = [f"{TS} [{pid}] [unknown]@[unknown] LOG:  connection received: host=203.0.113.5 port=1".encode(),
                       f"{TS} [9] a@b LOG:  statement: SELECT 1".encode(),
                       f'{TS} [{pid}] bob@db FATAL:  password authentication failed for user "bob"'.encode()]
    # connection lines far before their failures, around the middle (where the file is split):
    # beyond the fast lane's window, within and beyond the 1 MiB lookback
    mid = len(rows) // 2
    for pid, (conn, fail) in enumerate([(-20000, -5000), (-3000, 3000), (-9000, 2000), (-400, 12000)], 31337):
        rows[mid + fail:mid + fail] = [f'{TS} [{pid}] u@d FATAL:  password authentication failed for user "u"'.encode()]
        rows[mid + conn:mid + conn] = [
            f"{TS} [{pid}] [unknown]@[unknown] LOG:  connection received: host=203.0.113.77 port=5".encode()]
    out = tmp_path / "hostile.log"
    out.write_bytes(b"\n".join(rows))   # no newline at the end: a partial last line
    return out


def _scan(path: Path, split: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[object], int]:
    monkeypatch.setattr(logsplit, "SPLIT_MIN", 0 if split else 1 << 60)
    tally = ScanTally(True, io.StringIO())
    report = scan_file(str(path), tally=tally)
    tally.flush()
    out = tally.out.getvalue()   # type: ignore[union-attr]
    summary = (tally.totals, dict(tally.kinds), dict(tally.langs), tally.sources.most_common(), report.lines)
    return out + json.dumps(summary), [(s.line, s.reason) for s in report.suspicions], len(report.errors)


def test_two_processes_give_the_sequential_result(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    log = _hostile_log(tmp_path, 120_000)
    assert log.stat().st_size > 2 * (logsplit.PRIME + 2) * (1 << 20)   # large enough to be split
    forks: list[int] = []
    real_halves = logsplit.scan_halves

    def counting(*args: object) -> bool:
        done = real_halves(*args)   # type: ignore[arg-type]
        forks.append(done)
        return done

    monkeypatch.setattr("yamori.postgres.log.read.scan_halves", counting)
    split = _scan(log, True, monkeypatch)
    assert forks == [True]
    sequential = _scan(log, False, monkeypatch)
    assert split == sequential
    out, suspicions, _ = split
    # (most hostile names are now read whole and attributed: issue 9; the rest stay suspicious)
    assert len(suspicions) > 3 and VICTIM not in out


@pytest.mark.parametrize("distinct", [4, 9, 12])
def test_tally_merge_is_exact_when_the_source_table_is_full(monkeypatch: pytest.MonkeyPatch,
                                                            distinct: int) -> None:
    monkeypatch.setattr(scanout, "MAX_SOURCES", 5)
    rnd = random.Random(distinct)
    events = [AuthEvent(time=None, source=f"192.0.2.{rnd.randrange(distinct)}", user="u", database=None,
                        kind="k", encryption=None, role_exists=None, lang="en", trusted=rnd.random() < 0.9)
              for _ in range(400)]
    for cut in (0, 3, 50, 200, 399):
        whole = ScanTally(True, io.StringIO())
        for ev in events:
            whole.add(ev)
        first = ScanTally(True, io.StringIO())
        later = first.fresh()
        for ev in events[:cut]:
            first.add(ev)
        for ev in events[cut:]:
            later.add(ev)
        if not first.absorb(later.state()):
            # more sources than the table and its refusals hold: the caller scans sequentially
            assert distinct > 2 * scanout.MAX_SOURCES and len(set(e.source for e in events[cut:])) > 10
            continue
        first.flush()
        whole.flush()
        assert first.out.getvalue() == whole.out.getvalue()   # type: ignore[union-attr]
        assert list(first.sources.items()) == list(whole.sources.items())
        assert first.sources.most_common(10) == whole.sources.most_common(10)
        assert first.totals == whole.totals


@pytest.mark.parametrize("name", ["en.log", "ja.log", "en-plain.log", "ja-plain.log"])
def test_one_match_for_both_lines_agrees_with_line_by_line(corpora: Path, name: str) -> None:
    data = (corpora / "pg-auth-log" / "generated-pg15" / name).read_bytes()
    _pair_off_agrees(data, DEBIAN_PREFIX)


def test_one_match_for_both_lines_on_hostile_sessions(tmp_path: Path) -> None:
    log = _hostile_log(tmp_path, 8000)
    _pair_off_agrees(log.read_bytes(), DEBIAN_PREFIX)


def _pair_off_agrees(data: bytes, prefix: str) -> None:
    with_pair = StderrScanner(prefix)
    without = StderrScanner(prefix)
    without.fast.pair_rx = None   # type: ignore[union-attr]
    assert with_pair.fast is not None and with_pair.fast.pair_rx is not None
    assert (with_pair.feed(data, final=True), with_pair.suspicions) == (
        without.feed(data, final=True), without.suspicions)


def test_a_failed_second_process_leaves_the_first_to_finish_alone(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    log = _hostile_log(tmp_path, 100_000)
    sequential = _scan(log, False, monkeypatch)

    def broken(*args: object) -> None:
        raise RuntimeError("the forked process dies")

    monkeypatch.setattr(logsplit, "_second_half", broken)
    assert _scan(log, True, monkeypatch) == sequential
