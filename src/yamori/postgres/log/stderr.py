"""PostgreSQL stderr logs -> authentication-failure events, safe against forged names.

User, database and application names are chosen by whoever connects and are written raw into
the `log_line_prefix` (%u %d %a) and into the message. So a line is never parsed one way and
believed: every reading of it (each place a severity label could start) is tried, and a reading
counts only when the names in the prefix are exactly the names in the message. The source
comes from what the server wrote about the connection: %h/%r, the host in the message, or the
backend's own earlier `connection received` line (keyed by %p). When that is not unambiguous,
the event is reported with trusted=False and a reason, and nothing may be banned from it.

This module is pure: it works on bytes handed to it (whole files in chunks, or a tail).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from ...records import AuthEvent
from .catalog import LOCALE_DIR, Catalog, catalog, hba_rule_source
from .connections import LOOKBACK, REJECTED, ConnectionLines
from .fastlane import FastLane
from .lines import DEFER, LineGrammar
from .parses import Parse, Parses, parse_key
from .prefix import Prefix, compile_prefix, iso_time

MAX_SUSPICIONS = 1000       # kept per feed (the reader caps its own list too)


@dataclass(frozen=True, slots=True)
class Suspicion:
    """A line that could not be attributed unambiguously: a suspected log-injection attempt."""

    line: int | None
    reason: str
    user: str | None = None


@dataclass
class ScanState:
    """What the scanner remembers between chunks (bounded)."""

    last_failure: OrderedDict[str, int] = field(default_factory=OrderedDict)   # pid -> offset


def _unknown(value: str | None, unknown: tuple[str, ...]) -> str | None:
    return None if value is None or value == "" or value in unknown else value


class StderrScanner:
    """Feed bytes (complete lines), get AuthEvents. `final` says no more data follows for now."""

    def __init__(self, prefix: str, langs: tuple[str, ...] = ("en", "ja"), *, log_timezone: str | None = None,
                 file: str | None = None, fast: bool = True, locale_dir: str = LOCALE_DIR) -> None:
        self.catalog: Catalog = catalog(langs, locale_dir)
        self.prefix: Prefix = compile_prefix(prefix)
        self.file = file
        self.log_timezone = log_timezone
        cat = self.catalog
        self.grammar = grammar = LineGrammar(self.prefix, cat)
        self.parses = Parses(grammar)
        self.label_rx, self.prefix_rx, self.start_rx = grammar.label_rx, grammar.prefix_rx, grammar.start_rx
        self.greedy_prefix_rx, self.secondary, self.bare = grammar.greedy_prefix_rx, grammar.secondary, grammar.bare
        fatal = [f"{s}:  ".encode() for s in cat.severities if s == "FATAL"]
        self.markers = tuple(dict.fromkeys(fatal + [m.encode() for m in cat.noise_markers]))
        # An empty prefix also accepts bare messages without a severity label (a line copied out
        # of a log, as in incident 1): then every message marker is a hit.
        if self.bare:
            self.markers += tuple(m.encode() for m in cat.markers)
        self.conn_markers = [(rx, m.encode()) for rx, m in cat.conn_received]
        self.connections = ConnectionLines(grammar, self.conn_markers)
        # The severity labels hit on every failure line: a regex loop finds them in C, ~2x faster
        # than a Python loop of find(); the rare message markers stay with find(), which skips
        # faster over text that holds none. A regex finds non-overlapping occurrences only, so
        # it is used only for a marker that cannot overlap itself (the same positions as find).
        self._marker_scans = [(m, re.compile(re.escape(m)) if m in fatal and not _self_overlaps(m) else None)
                              for m in self.markers]
        self._wide_markers = any(not m.isascii() for m in self.markers)
        self.buf = b""
        self.base = 0            # offset of buf[0] in the stream
        self.lineno = 1          # line number of buf[self._counted]
        self._counted = 0
        self.scan_from = 0
        self.state = ScanState()
        self.suspicions: list[Suspicion] = []
        self.suspicions_dropped = 0
        self._last_suspicion = Suspicion(None, "")
        self.consumed = 0                   # buf offset: the careful path read the lines before it
        self.explained: int | None = None   # stream offset: earlier events from there on were inside names
        self.lines_seen = 0
        self.fast = FastLane(self) if fast and not self.bare else None

    # -- feeding -------------------------------------------------------------------------
    def start_at(self, offset: int) -> None:
        """The stream begins at `offset` (nothing held yet): a scanner for a later part of a file."""
        self.buf, self.base, self.scan_from, self._counted = b"", offset, 0, 0

    @property
    def held_to(self) -> int:
        """Stream offset just past the bytes held (scanned or not)."""
        return self.base + len(self.buf)

    @property
    def scanned_to(self) -> int:
        """Stream offset up to which every line is decided."""
        return self.base + self.scan_from

    def prime(self, data: bytes, offset: int) -> None:
        """Lines already read before a restart (ending at stream `offset`): kept as lookback only,
        so a failure right after the restart still finds its backend's `connection received`."""
        cut = data.find(b"\n") + 1 if offset > len(data) else 0   # drop a leading partial line
        self.buf = data[cut:]
        self.base = offset - len(self.buf)
        self.scan_from = len(self.buf)
        self._counted = len(self.buf)

    def feed(self, data: bytes | memoryview, final: bool = False, *, before: bytes = b"") -> list[AuthEvent]:
        """Scan `before + data` (whole lines) appended to what is held; returns the events completed."""
        self.buf = b"".join((self.buf, before, data)) if self.buf or before else bytes(data)
        buf = self.buf
        events: list[AuthEvent] = []
        starts: list[int] = []
        resume = len(buf)
        last_line = -1
        fast = self.fast.event if self.fast is not None else None
        self.consumed = 0
        for pos in self._hits(buf, self.scan_from):
            if pos < self.consumed:
                continue
            ls = buf.rfind(b"\n", 0, pos) + 1
            if ls == last_line:
                continue
            last_line = ls
            le = buf.find(b"\n", pos)
            if le < 0:
                if not final:
                    resume = ls
                    break
                le = len(buf)
            result: AuthEvent | object | None = fast(buf, ls, le, final) if fast is not None else None
            if result is None:
                result = self._event_at(buf, ls, le, final)
            if result is DEFER:
                resume = ls
                break
            if self.explained is not None:
                # the lines read before were inside this record's names: what they seemed to say is gone
                cut, self.explained = self.explained, None
                while events and starts[-1] >= cut:
                    events.pop()
                    starts.pop()
                first = self.line_of(cut - self.base)
                while self.suspicions and (self.suspicions[-1].line or 0) >= first:
                    self.suspicions.pop()
                if isinstance(result, AuthEvent) and not result.trusted:
                    self._suspect(self._last_suspicion)   # (its own, popped above)
            if isinstance(result, AuthEvent):
                events.append(result)
                starts.append(self.base + ls)
        self._trim(resume)
        return events

    def _hits(self, buf: bytes, start: int) -> list[int]:
        out: list[int] = []
        # a marker with non-ASCII bytes (a translation) cannot occur in an all-ASCII buffer: one
        # quick check instead of a pass per such marker over an English log
        ascii_only = self._wide_markers and buf.isascii()
        for marker, rx in self._marker_scans:
            if ascii_only and not marker.isascii():
                continue
            if rx is not None:
                out += [m.start() for m in rx.finditer(buf, start)]
                continue
            i = buf.find(marker, start)
            while i >= 0:
                out.append(i)
                i = buf.find(marker, i + 1)
        out.sort()
        return out

    def _trim(self, resume: int) -> None:
        """Keep the bytes not yet scanned and a bounded lookback behind them."""
        buf = self.buf
        self.lines_seen = self.line_of(len(buf)) - 1
        cut = max(0, min(resume, len(buf) - LOOKBACK))
        if cut:
            cut = buf.rfind(b"\n", 0, cut) + 1
        if cut:
            if cut > self._counted:   # (behind _counted nothing moves: counting back would be wasted)
                self.line_of(cut)
            self.buf = buf[cut:]
            self.base += cut
            self._counted -= cut
        self.scan_from = resume - cut

    def line_of(self, offset: int) -> int:
        """1-based line number of buf offset (counted incrementally, offsets only grow)."""
        if offset >= self._counted:
            self.lineno += self.buf.count(b"\n", self._counted, offset)
            self._counted = offset
            return self.lineno
        return self.lineno - self.buf.count(b"\n", offset, self._counted)

    # -- one record ------------------------------------------------------------------------
    def _event_at(self, buf: bytes, ls: int, le: int, final: bool) -> AuthEvent | object | None:
        """The careful reading (after the fast lane, if any, declined the record)."""
        text = buf[ls:le].decode("utf-8", "replace")
        readings = [r for r in self.grammar.readings(text) if r.label not in self.secondary]
        if not readings and (ls == 0 or self.label_rx.search(text) is None):
            return None
        # continuation lines (PostgreSQL puts a tab after every newline inside a message)
        pieces = [text]
        j = le + 1
        while j < len(buf) and buf[j] == 9:
            e = buf.find(b"\n", j)
            if e < 0:
                if not final:
                    return DEFER
                e = len(buf)
            pieces.append(buf[j + 1:e].decode("utf-8", "replace"))
            j = e + 1
        extra = "\n" + "\n".join(pieces[1:]) if len(pieces) > 1 else ""
        orphan_before = self.orphan_before(buf, ls)
        parses = [p for r in readings for p in self.parses.parse(r, r.message + extra)]
        start = ls
        spans: list[tuple[int, Parse]] = []
        if orphan_before or extra or not any("_inconsistent" not in p.groups for p in parses):
            # a newline inside a name in the prefix: the record may start on an earlier line
            loose: list[tuple[int, Parse]] = []
            spans = self.parses.spanning(buf, ls, le, extra, loose)
            if spans:
                start = min(s for s, _ in spans)
                parses = [p for _, p in spans] + [p for p in parses if "_inconsistent" not in p.groups]
                orphan_before = self.orphan_before(buf, start)
            elif not parses and loose:
                # no reading settles it: reported all the same, untrusted; a source only from the
                # connection line of the one backend every reading names
                pids = {p.groups.get("p") for _, p in loose}
                parses = [Parse(p.template, p.fields, {**p.groups, "_inconsistent": "1",
                                                        **({} if len(pids) == 1 else {"p": None})}, p.prefix_text)
                          for _, p in loose]
                start = min(s for s, _ in loose)
        # the DETAIL of this record repeats its prefix exactly (same ereport call): known by that
        heads = tuple({p.prefix_text.encode() for p in parses if "\n" in p.prefix_text})
        pids = {p.groups.get("p") for p in parses}
        pid = pids.pop() if len(pids) == 1 else None
        details, j, orphan_after = self.grammar.secondaries(buf, j, final, heads, pid,
                                                            self.parses.genuine_failure)
        if details is DEFER or (j >= len(buf) and not final):
            return DEFER
        if not parses:
            # no reading here: what looked like this line's continuation may hold the real record
            # start (a newline inside a name in its prefix), so its hits are still read
            return None
        self.consumed = j   # the record's own lines (its DETAIL included): no hit in them is a record
        if spans and len({parse_key(p) for _, p in spans}) == 1:
            self.explained = self.base + start   # lines in between are inside this record's names
        lineno = self.line_of(start)
        return self._decide(parses, str(details), lineno, self.base + start, orphan_before or orphan_after)

    def orphan_before(self, buf: bytes, ls: int) -> bool:
        return self.grammar.orphan_before(buf, ls)

    def _decide(self, parses: list[Parse], details: str, lineno: int, offset: int, orphan: bool) -> AuthEvent:
        good = [p for p in parses if "_inconsistent" not in p.groups]
        distinct = {parse_key(p) for p in good}
        reason = None
        if orphan:
            reason = "a line without a log prefix touches this record (newline in a name?)"
        if len(distinct) == 1:
            chosen = good[0]
        elif len(distinct) > 1:
            # of several readings, the one whose backend genuinely connected (and not later) is the record
            backed = [p for p in good if (pp := p.groups.get("p")) and (c := self._connection(pp, offset))
                      and c is not REJECTED
                      and _same_clock(c[2], p.groups.get("m") or p.groups.get("t") or p.groups.get("n"))]
            if len({parse_key(p) for p in backed}) == 1:
                chosen = backed[0]
            else:
                chosen, reason = good[0], "the line parses two ways (quotes or labels inside a name)"
        else:
            chosen, reason = parses[0], "the names in the log prefix and in the message disagree"
        f, g = chosen.fields, chosen.groups
        cat = self.catalog
        user = _unknown(f.get("user") or g.get("u"), cat.unknown)
        if "host" in chosen.template.fields and "database" not in chosen.template.fields:
            database = None     # replication connection: no database
        else:
            database = _unknown(f.get("database") or g.get("d"), cat.unknown)
        hosts: dict[str, str] = {}
        if f.get("host"):
            hosts["message"] = f["host"]  # type: ignore[assignment]
        for key in ("h", "r"):
            if g.get(key):
                hosts["prefix"] = re.sub(r"\(\d+\)$", "", g[key])  # type: ignore[arg-type]
        stamp = g.get("m") or g.get("t") or g.get("n")
        pid = g.get("p")
        conn = self._connection(pid, offset) if pid else None
        if conn is REJECTED:
            conn = None
            reason = reason or "its backend's connection line touches text that is not a record start"
        if conn is not None:
            hosts["connection"] = conn[0]
            if reason is None and self.state.last_failure.get(pid, -1) > conn[1]:  # type: ignore[arg-type]
                reason = "a second failure logged for one backend process (forged PID?)"
            if reason is None and "user" not in chosen.template.fields and not _same_clock(conn[2], stamp):
                reason = "the record's time runs before its backend's connection line (forged time?)"
        if pid:
            self._remember(pid, offset)
        hosts = {k: v for k, v in hosts.items() if v and v != "[local]"}
        source = hosts.get("connection") or hosts.get("prefix") or hosts.get("message")
        if reason is None and len(set(hosts.values())) > 1:
            reason = "the host in the message differs from the connection's host"
        if reason is None and "user" not in chosen.template.fields and "connection" not in hosts:
            # no name to check the record against: only its backend's genuine connection line vouches for it
            reason = "a record without a user name and without its backend's connection line"
        network = None
        if source is None and details and reason is None:
            # no address in the log: the pg_hba.conf rule the connection matched may name one
            source, network = _rule_source(cat, details)
        if reason is not None:
            self._suspect(Suspicion(lineno, reason, user))
            # never a guess: only what the backend's own (genuine) connection line says
            source = hosts.get("connection")
        return AuthEvent(
            time=_safe_time(stamp, self.log_timezone),
            source=source, user=user, database=database, kind=chosen.template.kind,
            encryption=cat.encryption_names.get(f.get("encryption") or ""),
            role_exists=cat.role_exists(details) if details else None,
            lang=chosen.template.lang, trusted=reason is None, file=self.file, line=lineno,
            source_network=network)

    def _suspect(self, suspicion: Suspicion) -> None:
        """Suspicions are kept up to MAX_SUSPICIONS per feed; the rest are only counted."""
        self._last_suspicion = suspicion
        if len(self.suspicions) < MAX_SUSPICIONS:
            self.suspicions.append(suspicion)
        else:
            self.suspicions_dropped += 1

    def _remember(self, pid: str, offset: int) -> None:
        lf = self.state.last_failure
        lf[pid] = offset
        lf.move_to_end(pid)
        if len(lf) > 4096:   # backends alive at once are far fewer (max_connections)
            lf.popitem(last=False)

    def _connection(self, pid: str, offset: int) -> tuple[str, int, str | None] | None:
        """(host, stream offset, time) of this backend's genuine `connection received` line before
        `offset`; REJECTED when only lines inside other records' names name it."""
        return self.connections.find(self.buf, self.base, offset - self.base, pid)

    def genuine_neighbours(self, buf: bytes, ls: int, le: int) -> bool:
        return self.connections.genuine_neighbours(buf, ls, le)


def _rule_source(cat: Catalog, details: str) -> tuple[str | None, str | None]:
    rule = cat.matched_rule(details)
    return hba_rule_source(rule) if rule else (None, None)


def _same_clock(conn: str | None, stamp: str | None) -> bool:
    """A failure is written after its backend's connection line: same zone text, not earlier."""
    if not conn or not stamp:
        return True
    zc, zs = conn[19:].lstrip(".0123456789"), stamp[19:].lstrip(".0123456789")
    return zc == zs and stamp[:19] >= conn[:19]


def _safe_time(stamp: str | None, log_timezone: str | None) -> str | None:
    try:
        return iso_time(stamp, log_timezone)
    except (ValueError, OverflowError):
        return None


def _self_overlaps(marker: bytes) -> bool:
    """Whether two occurrences of `marker` can overlap (a proper prefix is also a suffix)."""
    return any(marker[:k] == marker[-k:] for k in range(1, len(marker)))


def scan_stderr(data: bytes, prefix: str, langs: tuple[str, ...] = ("en", "ja"), *,
                file: str | None = None, fast: bool = True) -> tuple[list[AuthEvent], list[Suspicion]]:
    """Pure: the auth failures in a whole stderr log held in memory."""
    scanner = StderrScanner(prefix, langs, file=file, fast=fast)
    events = scanner.feed(data, final=True)
    return events, scanner.suspicions
