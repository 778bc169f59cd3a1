"""PostgreSQL records carried by syslog or the journal -> the byte stream the stderr scanner reads.

With `log_destination = 'syslog'` PostgreSQL's write_syslog() sends each message through
syslog(3) in chunks: one chunk per line of the message (newlines are never sent), and a line
longer than PG_SYSLOG_LIMIT (900 bytes) cut at a word boundary (the next chunk then starts with
that whitespace) or, with no whitespace, hard at the limit. With `syslog_sequence_numbers = on`
(the default) a one-chunk message is sent as `[SEQ] text` and a longer one as `[SEQ-1] text`,
`[SEQ-2] text`, ...; the log_line_prefix is still written inside the text.

This module is pure. It strips the syslog header of lines whose program tag is the server's
`syslog_ident` (every other line is ignored), joins a record's chunks by PID and sequence
number, and hands back records as stderr-format lines, so attribution and trust rules are the
stderr scanner's, unchanged. What it trusts:
- a record starts only at a line whose header names the ident and a PID and whose text starts
  with `[SEQ]` or `[SEQ-1]`: text inside a message never starts a line (PostgreSQL splits on
  newlines and the syslog daemon escapes control characters), so it cannot forge a start;
- `[SEQ-N]` (N >= 2) continues only the open record of the same PID and SEQ whose last chunk
  was N-1; any other continuation is dropped and counted;
- chunks are joined with a newline, except when the earlier chunk may have been cut for length:
  a cut happens only inside a line of more than PG_SYSLOG_LIMIT bytes, at the last whitespace
  within the limit (or at the limit, less up to 3 bytes of a multibyte letter), so the earlier
  chunk plus the next one's leading whitespace and first word reach PG_SYSLOG_LIMIT - 3 bytes.
  Then they are concatenated, so a hostile long statement cannot put its text at the start of
  a line. Lengths are counted as written by the daemon (its `#011` escapes count 4 bytes):
  escaping only lengthens, so a real cut is never taken for a newline.
- the daemon writes a tab as `#011` (rsyslog's default escaping); PostgreSQL writes a tab after
  each newline inside a message (as in its stderr log), so `#011` at the start of a chunk that
  follows a newline is read as that tab. No other escape is undone (`#012` stays text: a forged
  newline cannot be made that way).
The syslog socket itself is writable by every local user: a local process may log as
`postgres[PID]`. The journal readers' `_UID`/`_COMM` fields (set by journald, not by the
sender) are checked when given (see `journal_entry`).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field

PG_SYSLOG_LIMIT = 900
MAX_OPEN = 256              # records awaiting continuations (by PID); the oldest are flushed
MAX_RECORD = 64 * 1024      # bytes kept per record; beyond, its chunks are dropped and counted

# rsyslog's RSYSLOG_TraditionalFileFormat and syslog-ng's default: `Mmm dd HH:MM:SS host tag[pid]: `;
# rsyslog's RSYSLOG_FileFormat: an RFC 3339 time instead.
_HEADER = re.compile(
    rb"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d))"
    rb" (?P<host>\S+) (?P<tag>[^\s\[\]:]{1,64})\[(?P<pid>\d{1,10})\]: ?")
_LEAD = re.compile(rb"(?:[ \t\v\f\r]|#011)*[^ \t\v\f\r]*")   # a chunk's leading whitespace and first word
_MARK = re.compile(rb"\[(?P<seq>\d{1,20})(?:-(?P<part>\d{1,9}))?\] ")


@dataclass
class _Open:
    seq: bytes
    part: int
    text: bytearray
    last_len: int


@dataclass
class SyslogJoiner:
    """Feed syslog lines (or journal entries), get complete records as stderr-format lines."""

    ident: str = "postgres"
    open: OrderedDict[bytes, _Open] = field(default_factory=OrderedDict)
    ignored: int = 0          # lines of other programs, or without a header
    dropped: int = 0          # continuations without their record, or beyond MAX_RECORD
    lines: int = 0

    def feed(self, data: bytes, final: bool = False) -> bytes:
        """`data` is whole lines. Returns the records closed by them (all open ones if `final`)."""
        out = bytearray()
        ident = self.ident.encode()
        for line in data.split(b"\n"):
            if not line:
                continue
            self.lines += 1
            m = _HEADER.match(line)
            if m is None or m["tag"] != ident:
                self.ignored += 1
                continue
            self.chunk(m["pid"], line[m.end():], out)
        if final:
            self.flush(out)
        return bytes(out)

    def chunk(self, pid: bytes, text: bytes, out: bytearray) -> None:
        """One syslog message of process `pid` (header stripped)."""
        m = _MARK.match(text)
        if m is not None and m["part"] is not None and m["part"] != b"1":
            part = int(m["part"])
            rec = self.open.get(pid)
            body = text[m.end():]
            if rec is None or rec.seq != m["seq"] or rec.part + 1 != part or len(rec.text) + len(body) > MAX_RECORD:
                self.dropped += 1
                return
            lead = _LEAD.match(body)
            if rec.last_len + (lead.end() if lead else 0) >= PG_SYSLOG_LIMIT - 3:
                rec.text += body            # a cut for length: the same line goes on
            else:                           # the message's next line (a tab after a newline: see above)
                rec.text += b"\n" + (b"\t" + body[4:] if body.startswith(b"#011") else body)
            rec.part, rec.last_len = part, len(body)
            return
        self._close(pid, out)
        body = text[m.end():] if m is not None else text
        if m is not None and m["part"] == b"1":
            self.open[pid] = _Open(m["seq"], 1, bytearray(body[:MAX_RECORD]), len(body))
            if len(self.open) > MAX_OPEN:
                self._close(next(iter(self.open)), out)
        else:
            out += body + b"\n"

    def _close(self, pid: bytes, out: bytearray) -> None:
        rec = self.open.pop(pid, None)
        if rec is not None:
            out += rec.text + b"\n"

    def flush(self, out: bytearray) -> None:
        for pid in list(self.open):
            self._close(pid, out)


class JournalError(ValueError):
    """A journal export line that is not a JSON object of fields."""


def journal_field(value: object) -> bytes | None:
    """A journal JSON field: a string, an array of byte values (non-UTF-8 data), or for a field
    present several times, a list of those (the first is taken). Anything else: None."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, list) and value and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)   # type: ignore[arg-type]
    if isinstance(value, list) and value:
        return journal_field(value[0])
    return None


def journal_entry(line: str | bytes, *, ident: str = "postgres",
                  uid: int | None = None) -> tuple[bytes, bytes] | None:
    """One line of `journalctl -o json` -> (pid, message) of the server, or None when the entry
    is not the server's (other identifier, no PID, or `_UID` other than `uid` when given).
    The journal's own trusted fields (`_PID`, `_UID`) are preferred to what the sender says."""
    try:
        entry = json.loads(line)
    except ValueError as err:
        raise JournalError(f"not JSON: {err}") from None
    if not isinstance(entry, dict):
        raise JournalError("not a JSON object")
    if journal_field(entry.get("SYSLOG_IDENTIFIER")) != ident.encode():
        return None
    if uid is not None and journal_field(entry.get("_UID")) != str(uid).encode():
        return None
    pid = journal_field(entry.get("_PID")) or journal_field(entry.get("SYSLOG_PID"))
    message = journal_field(entry.get("MESSAGE"))
    if pid is None or not pid.isdigit() or message is None:
        return None
    # a message holds no newline (PostgreSQL splits on them); one that does is cut at the first
    return pid, message.split(b"\n", 1)[0]


def looks_like_syslog(head: bytes) -> bool:
    """Format detection: most of the first lines carry a syslog header (a stderr, csvlog or
    jsonlog line never starts with `Mmm dd HH:MM:SS host tag[pid]:`)."""
    lines = [ln for ln in head.split(b"\n")[:50] if ln.strip()]
    if len(head) >= 65536 and lines and not head.endswith(b"\n"):
        lines = lines[:-1]
    return bool(lines) and sum(1 for ln in lines if _HEADER.match(ln)) * 2 > len(lines)
