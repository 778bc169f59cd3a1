"""The server's records from the systemd journal: a thin reader around `journalctl -o json --follow`.

Each entry's MESSAGE (a string, or an array of bytes when not UTF-8) goes through the same
syslog joiner as a syslog file's lines (yamori.postgres.log.syslog), then the stderr scanner.
The cursor of the last entry read is written to `<state_dir>/journal.cursor` after each read
(atomically), and journalctl starts after it next time (`--cursor-file`), so a restart reads
each record once. With no cursor yet, entries up to `backlog` old are read.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..postgres.log.read import LogReader
from ..postgres.log.syslog import JournalError, SyslogJoiner, journal_entry, journal_field
from ..records import AuthEvent

MAX_READ = 1 << 20     # bytes taken from journalctl per poll (the rest waits in the pipe)
MAX_LINE = 1 << 20     # a longer entry is skipped


class JournalReader:
    def __init__(self, state_dir: Path, *, ident: str = "postgres", prefix: str | None = None,
                 langs: tuple[str, ...] = ("en", "ja"), command: list[str] | None = None,
                 matches: list[str] | None = None, since: float | None = None,
                 log_timezone: str | None = None, locale_dir: str | None = None) -> None:
        self.cursor_file = state_dir / "journal.cursor"
        self.ident = ident
        self.joiner = SyslogJoiner(ident)
        self.reader = (LogReader("stderr", prefix, langs, file="journal", log_timezone=log_timezone)
                       if locale_dir is None else
                       LogReader("stderr", prefix, langs, file="journal", log_timezone=log_timezone,
                                 locale_dir=locale_dir))
        self.command = command or ["journalctl"]
        self.matches = matches if matches is not None else [f"SYSLOG_IDENTIFIER={ident}"]
        self.since = since
        self.proc: subprocess.Popen[bytes] | None = None
        self.held = b""
        self.problems: list[str] = []
        self.entries = 0

    def argv(self) -> list[str]:
        argv = [*self.command, "-o", "json", "--follow", "--no-pager", f"--cursor-file={self.cursor_file}"]
        if self.since is not None and not self.cursor_file.exists():
            argv.append(f"--since=@{int(self.since)}")
        elif not self.cursor_file.exists():
            argv.append("--lines=all")
        return argv + self.matches

    def start(self) -> None:
        self.cursor_file.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def poll(self) -> list[AuthEvent]:
        """What journalctl has written since the last poll (bounded), as events."""
        if self.proc is None or self.proc.stdout is None:
            return []
        try:
            data = self.proc.stdout.read(MAX_READ) or b""
        except BlockingIOError:
            data = b""
        return self.feed(data, final=True)

    def feed(self, data: bytes, final: bool = True) -> list[AuthEvent]:
        """journalctl's JSON lines (pure apart from saving the cursor)."""
        buf = self.held + data
        cut = buf.rfind(b"\n") + 1
        self.held = buf[cut:]
        if len(self.held) > MAX_LINE:
            self.problems.append("journal: an entry longer than 1 MiB was skipped")
            self.held = b""
        out = bytearray()
        cursor: bytes | None = None
        for line in buf[:cut].split(b"\n"):
            if not line.strip():
                continue
            try:
                got = journal_entry(line, ident=self.ident)
                cursor = _cursor(line) or cursor
            except JournalError as err:
                self.problems.append(f"journal: entry {self.entries + 1}: {err}")
                continue
            self.entries += 1
            if got is not None:
                self.joiner.chunk(got[0], got[1], out)
        if final:
            self.joiner.flush(out)
        events = self.reader.feed(bytes(out), final=final) if out or final else []
        if cursor is not None:
            self._save(cursor)
        return events

    def _save(self, cursor: bytes) -> None:
        tmp = self.cursor_file.with_suffix(".tmp")
        tmp.write_bytes(cursor)
        os.replace(tmp, self.cursor_file)


def _cursor(line: bytes) -> bytes | None:
    import json

    entry = json.loads(line)
    value = journal_field(entry.get("__CURSOR")) if isinstance(entry, dict) else None
    return value if value and b"\n" not in value else None
