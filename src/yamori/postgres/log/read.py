"""Thin readers over the pure log parsers: format detection, prefix guessing, whole files in
bounded chunks, and an incremental `LogReader` the tailer feeds."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ...records import AuthEvent, ParseProblem
from .catalog import LOCALE_DIR, catalog
from .guess import guess_prefix
from .prefix import PrefixError
from .split import Tally, scan_halves, worth_splitting
from .stderr import StderrScanner, Suspicion
from .structured import LogFormatError, iter_jsonlog, scan_csvlog
from .syslog import SyslogJoiner, looks_like_syslog

CHUNK = 1 << 20
MAX_SUSPICIONS = 1000   # kept per reader; beyond, only counted (a flood of hostile names is bounded)
FORMATS = ("stderr", "csvlog", "jsonlog", "syslog")
_CSV_HEAD = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+,')


@dataclass
class ScanReport:
    events: list[AuthEvent] = field(default_factory=list)
    suspicions: list[Suspicion] = field(default_factory=list)
    lines: int = 0
    errors: list[ParseProblem] = field(default_factory=list)   # rendered `file:line: field: message`


def detect_format(path: str, head: bytes) -> str:
    name = path.lower()
    if name.endswith((".json", ".json.1")) or head.lstrip().startswith(b"{"):
        return "jsonlog"
    if name.endswith((".csv", ".csv.1")) or _CSV_HEAD.match(head.decode("utf-8", "replace")):
        return "csvlog"
    if looks_like_syslog(head):
        return "syslog"
    return "stderr"


class LogReader:
    """Incremental reader of one log file's bytes in any format (the tailer's parser)."""

    def __init__(self, fmt: str, prefix: str | None, langs: tuple[str, ...] = ("en", "ja"), *,
                 file: str | None = None, log_timezone: str | None = None, locale_dir: str = LOCALE_DIR,
                 syslog_ident: str = "postgres") -> None:
        self.fmt, self.langs, self.file, self.log_timezone = fmt, langs, file, log_timezone
        self.locale_dir = locale_dir
        # syslog: the joiner turns the server's syslog lines into stderr lines for the scanner
        self.syslog = SyslogJoiner(syslog_ident) if fmt == "syslog" else None
        self.syslog_held = b""
        self.prefix = prefix
        self.stderr: StderrScanner | None = None
        self.held = b""
        self.line = 1
        self.suspicions: list[Suspicion] = []
        self.suspicions_dropped = 0

    def _keep(self, sus: list[Suspicion]) -> None:
        room = MAX_SUSPICIONS - len(self.suspicions)
        self.suspicions += sus[:max(0, room)]
        self.suspicions_dropped += max(0, len(sus) - max(0, room))

    def fresh(self, prefix: str, start: int) -> LogReader:
        """A reader like this one for the same file, read from stream offset `start` with
        `prefix` (the second half of a split scan: see split.py)."""
        other = LogReader(self.fmt, prefix, self.langs, file=self.file, log_timezone=self.log_timezone,
                          locale_dir=self.locale_dir)
        other.stderr = StderrScanner(prefix, self.langs, file=self.file, log_timezone=self.log_timezone,
                                         locale_dir=self.locale_dir)
        other.stderr.start_at(start)
        return other

    def prime(self, before: bytes, offset: int) -> None:
        """Resuming mid-file: what precedes `offset` is lookback for the stderr scanner."""
        if self.fmt == "stderr" and before:
            if self.stderr is None:
                prefix = self.prefix if self.prefix is not None else guess_prefix(before, self.langs, self.locale_dir)
                self.stderr = StderrScanner(prefix, self.langs, file=self.file, log_timezone=self.log_timezone,
                                         locale_dir=self.locale_dir)
            self.stderr.prime(before, offset)

    def feed(self, data: bytes, final: bool = False) -> list[AuthEvent]:
        if self.syslog is not None:
            buf = self.syslog_held + data
            cut = len(buf) if final else buf.rfind(b"\n") + 1
            self.syslog_held = buf[cut:]
            return self._feed_stderr(self.syslog.feed(buf[:cut], final=final), final)
        if self.fmt == "stderr":
            return self._feed_stderr(data, final)
        buf = self.held + data
        cut = _complete_records(buf, csv=self.fmt == "csvlog", final=final)
        self.held = buf[cut:]
        text = buf[:cut].decode("utf-8", "replace")
        if not text:
            return []
        start = self.line
        self.line += text.count("\n")
        if self.fmt == "csvlog":
            events, sus = scan_csvlog(text, self.langs, file=self.file, start_line=start,
                                      locale_dir=self.locale_dir)
        else:
            sus = []
            events = list(iter_jsonlog(text.split("\n"), catalog(self.langs, self.locale_dir), file=self.file,
                                       start_line=start, suspicions=sus))
        self._keep(sus)
        return events

    def _feed_stderr(self, data: bytes, final: bool) -> list[AuthEvent]:
        if self.stderr is not None:
            # the held partial line and this chunk's whole lines go to the scanner in one copy
            end = len(data) if final else data.rfind(b"\n") + 1
            held, self.held = self.held, data[end:]
            if end == 0 and not final:
                self.held = held + data
                events = self.stderr.feed(b"", final=final)
            else:
                events = self.stderr.feed(memoryview(data)[:end], final=final, before=held)
            self._keep(self.stderr.suspicions)
            self.stderr.suspicions = []
            return events
        buf = self.held + data
        cut = buf.rfind(b"\n") + 1 if not final else len(buf)
        self.held = buf[cut:]
        if self.stderr is None:
            if self.prefix is None and cut == 0:
                return []
            prefix = self.prefix if self.prefix is not None else guess_prefix(buf[:cut], self.langs, self.locale_dir)
            self.stderr = StderrScanner(prefix, self.langs, file=self.file, log_timezone=self.log_timezone,
                                         locale_dir=self.locale_dir)
        events = self.stderr.feed(buf[:cut], final=final)
        self._keep(self.stderr.suspicions)
        self.stderr.suspicions = []
        return events

    @property
    def lines(self) -> int:
        if self.syslog is not None:
            return self.syslog.lines
        return self.stderr.lines_seen if self.stderr else self.line - 1


def _complete_records(buf: bytes, *, csv: bool, final: bool) -> int:
    """Offset just past the last complete record (csv: a newline outside quotes)."""
    if final:
        return len(buf)
    if not csv:
        return buf.rfind(b"\n") + 1
    end = 0
    quotes = 0
    pos = 0
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return end
        quotes += buf.count(b'"', pos, nl)
        pos = nl + 1
        if quotes % 2 == 0:
            end = pos


def scan_file(path: str, fmt: str = "auto", prefix: str | None = None, langs: tuple[str, ...] = ("en", "ja"),
              on_event: Callable[[AuthEvent], None] | None = None, tally: Tally | None = None,
              locale_dir: str = LOCALE_DIR) -> ScanReport:
    """Read one whole file once, in bounded chunks. Errors are reported as located problems
    (`file:line: field: message`).
    With `on_event`, events are handed over as they are read instead of being kept. With `tally`
    (which then takes the events instead of `on_event`), a large stderr log is read by two
    processes at once (see yamori.postgres.log.split), with the same result."""
    report = ScanReport()
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; chunks must outlive a with-block per read
    except OSError as err:
        report.errors.append(ParseProblem(path, None, f"cannot read: {err.strerror}"))
        return report
    with f:
        head = f.read(65536)
        if fmt == "auto":
            fmt = detect_format(path, head)
        try:
            reader = LogReader(fmt, prefix, langs, file=path, locale_dir=locale_dir)
        except PrefixError as err:
            report.errors.append(ParseProblem(path, None, err.reason, field=err.first.field))
            return report
        data = head
        try:
            if (tally is not None and fmt == "stderr" and worth_splitting(size := os.fstat(f.fileno()).st_size)
                    and scan_halves(f, path, reader, head, size, tally, report, CHUNK)):
                return report
            if tally is not None:
                on_event = tally.add
            while True:
                more = f.read(CHUNK)
                got = reader.feed(data, final=not more)
                if on_event is None:
                    report.events += got
                else:
                    for ev in got:
                        on_event(ev)
                if not more:
                    break
                data = more
        except LogFormatError as err:
            report.errors.append(ParseProblem(path, err.line, err.reason, field=err.first.field))
        except BrokenPipeError:
            raise   # our reader went away (`| head`): not a problem with the log file
        except OSError as err:
            report.errors.append(ParseProblem(path, None, f"read failed: {err.strerror}"))
    report.suspicions = reader.suspicions
    report.lines = reader.lines
    return report


def expand(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        out += sorted(glob.glob(p)) if any(c in p for c in "*?[") else [p]
    return out
