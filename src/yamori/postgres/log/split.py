"""A large stderr log read by two processes at once, with exactly the result of one pass.

`scan_file` feeds the scanner the head (64 KiB) and then 1 MiB chunks, each cut at its last
newline. Boundary `S` is where one such feed ends, near the middle of the file. This process
carries on the ordinary pass and keeps the events of lines before `S`; a forked process starts
PRIME feeds earlier on the same chunk grid and keeps the events of lines from `S` on. Those
priming feeds rebuild what the pass would hold at `S`: the scanner's lookback buffer (cut to
the same newline, as the scanner trims to a fixed distance behind the newest data) and the PIDs
of recent failures (a `connection received` older than the lookback is never consulted, so
older failures cannot matter). The other process hands back its tally, suspicions and line
count through an unnamed temporary file; if it fails, this process simply carries on alone.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from ...records import ParseProblem
from .connections import LOOKBACK
from .guess import guess_prefix
from .stderr import StderrScanner, Suspicion

if TYPE_CHECKING:
    from ...records import AuthEvent

SPLIT_MIN = 16 << 20          # below this a fork costs more than it saves
PRIME = 2                     # feeds of lookback the second process reads before S (>= 2 needed)


class Tally(Protocol):
    def add(self, ev: AuthEvent) -> None: ...
    def fresh(self) -> Tally: ...
    def state(self) -> Any: ...
    def absorb(self, state: Any) -> bool: ...


class LogReader(Protocol):
    """What a split scan uses of the reader it is given (read.LogReader): defined here, where it
    is used, so that this module imports no reader."""

    @property
    def prefix(self) -> str | None: ...
    @property
    def langs(self) -> tuple[str, ...]: ...
    @property
    def locale_dir(self) -> str: ...
    @property
    def stderr(self) -> StderrScanner | None: ...
    @property
    def suspicions(self) -> list[Suspicion]: ...
    @property
    def lines(self) -> int: ...
    def fresh(self, prefix: str, start: int) -> LogReader: ...
    def feed(self, data: bytes, final: bool = False) -> list[AuthEvent]: ...


class ScanReport(Protocol):
    """What a split scan fills in of the caller's report (read.ScanReport)."""

    suspicions: list[Suspicion]
    lines: int
    errors: list[ParseProblem]


def worth_splitting(size: int) -> bool:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus >= 2 and size >= SPLIT_MIN


def scan_halves(f: BinaryIO, path: str, reader: LogReader, head: bytes, size: int, tally: Tally,
                report: ScanReport, chunk: int) -> bool:
    """Scan `f` (positioned after `head`, nothing fed yet) in two processes.
    False: nothing was consumed, scan sequentially."""
    grid = len(head)              # feeds end at grid + j * chunk
    # a little past the middle: the other process also loads the catalog and reads PRIME chunks
    # of lookback (this one merges at the end, which is shorter)
    k = max(PRIME + 1, (size // 2 - grid) // chunk + 2)
    g_start = grid + (k - PRIME) * chunk
    g_split = grid + k * chunk
    # the prefix is guessed (and the message catalog loaded) in each process after the fork, so
    # that start-up work is not paid one after the other; the head needs a whole line for it
    if g_split >= size or chunk < LOOKBACK or (reader.prefix is None and b"\n" not in head):
        return False
    l0 = _line_start_before(path, g_start, chunk)
    if l0 is None:
        return False
    # the other half's result comes back in an unnamed temporary file (a pipe would make the
    # writer wait for this process, and megabytes of output cross it in 64 KiB steps); only the
    # two processes hold it, so the pickle read back is this program's own
    with tempfile.TemporaryFile() as back:
        pid = os.fork()
        if pid == 0:                                                    # pragma: no cover - child
            code = 1
            try:
                payload = _second_half(path, reader, _prefix_of(reader, head), l0, g_start + chunk, g_split,
                                       tally.fresh(), chunk)
                back.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
                back.flush()
                code = 0
            finally:
                os._exit(code)
        pending: list[AuthEvent] = []
        try:
            n_split = _first_half(f, reader, head, g_split, tally, pending, chunk)
        except BaseException:   # a read error, ^C: the other process must not outlive this scan
            _stop(pid)
            raise
        if not n_split:         # the file ended before S (it shrank while read): finish alone
            _stop(pid)
            _carry_on(f, reader, tally, pending, report, chunk)
            return True
        _, status = os.waitpid(pid, 0)
        back.seek(0)
        data = back.read() if status == 0 else b""
    half = pickle.loads(data) if data else None
    if half is None or not tally.absorb(half["tally"]):
        # the other process failed, or its tally cannot be merged exactly (a huge botnet)
        _carry_on(f, reader, tally, pending, report, chunk)
        return True
    shift = n_split - half["n_split"]   # relative line numbers of the other process -> absolute
    report.suspicions = [s for s in reader.suspicions if s.line is None or s.line < n_split] + [
        Suspicion(None if s.line is None else s.line + shift, s.reason, s.user) for s in half["suspicions"]]
    report.lines = shift + half["lines"]
    report.errors += half["errors"]
    return True


def _stop(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _prefix_of(reader: LogReader, head: bytes) -> str:
    """The prefix the ordinary pass uses (given, or guessed from the head's whole lines)."""
    if reader.prefix is not None:
        return reader.prefix
    return guess_prefix(head[:head.rfind(b"\n") + 1], reader.langs, reader.locale_dir)


def _line_start_before(path: str, pos: int, chunk: int) -> int | None:
    """Where the held partial line before grid point `pos` starts (the byte after a newline)."""
    with open(path, "rb") as g:
        lo = max(0, pos - chunk)
        g.seek(lo)
        window = g.read(pos - lo)
    nl = window.rfind(b"\n")
    return None if nl < 0 else lo + nl + 1


def _first_half(f: BinaryIO, reader: LogReader, head: bytes, g_split: int, tally: Tally,
                pending: list[AuthEvent], chunk: int) -> int:
    """The ordinary pass until every line before S is decided; events after S are kept aside.
    Returns the line number at S, or 0 if the file ended first."""
    fed = len(head)
    data = head
    n_split = 0
    split_at = 0
    while True:
        for ev in reader.feed(data, final=False):
            if not n_split or (ev.line is not None and ev.line < n_split):
                tally.add(ev)
            else:
                pending.append(ev)
        scanner = reader.stderr
        assert scanner is not None   # the head holds a whole line (checked by _prefix_of)
        if not n_split and fed >= g_split:
            n_split = scanner.lines_seen + 1
            split_at = scanner.held_to
        if n_split and scanner.scanned_to >= split_at:
            return n_split
        data = f.read(chunk)
        fed += len(data)
        if not data:          # only if the file shrank while read (S lies inside it)
            return 0


def _carry_on(f: BinaryIO, reader: LogReader, tally: Tally, pending: list[AuthEvent], report: ScanReport,
              chunk: int) -> None:
    """The other process failed: this one holds the ordinary pass's state, so it finishes alone."""
    for ev in pending:
        tally.add(ev)
    while True:
        more = f.read(chunk)
        for ev in reader.feed(more, final=not more):
            tally.add(ev)
        if not more:
            break
    report.suspicions = reader.suspicions
    report.lines = reader.lines


def _second_half(path: str, reader: LogReader, prefix: str, l0: int, first_end: int, g_split: int,
                 tally: Tally, chunk: int) -> dict[str, Any]:
    """In the forked process: prime from l0 on the same chunk grid, keep the lines from S on.
    Line numbers here count from l0; the caller shifts them."""
    mine = reader.fresh(prefix, l0)
    assert mine.stderr is not None
    errors: list[ParseProblem] = []
    n_split = 0
    try:
        with open(path, "rb") as g:
            g.seek(l0)
            data = g.read(first_end - l0)
            fed = first_end
            while data:
                more = g.read(chunk)
                events = mine.feed(data, final=not more)
                if not n_split and fed >= g_split:
                    n_split = mine.stderr.lines_seen + 1
                for ev in events:
                    if n_split and ev.line is not None and ev.line >= n_split:
                        tally.add(ev)
                data = more
                fed += len(more)
    except OSError as err:
        errors.append(ParseProblem(path, None, f"read failed: {err.strerror}"))
    sus = [s for s in mine.suspicions if n_split and s.line is not None and s.line >= n_split]
    return {"tally": tally.state(), "suspicions": sus, "lines": mine.lines, "n_split": n_split or 1,
            "errors": errors}
