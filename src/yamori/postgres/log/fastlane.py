"""The stderr scanner's fast lane: the common record, read with one regex, no search for readings.

When every name in a line is plain (letters, digits, `_ . -`: no quote, `@`, space, colon or
newline), a line has exactly one reading and the names cannot forge anything, so the careful
path of yamori.postgres.log (every reading, every template, verification) is not needed. Any
line, neighbour or connection record that is not plain falls back to that careful path, which
stays the single authority on what is ambiguous. The fast lane only ever says "this is the one
reading" or "ask the careful path".
"""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import cached_property
from typing import Any, Protocol

from ...records import AuthEvent
from .catalog import Catalog, Template, hba_rule_source, pattern_text
from .prefix import Prefix, compile_prefix_pattern, iso_time

NAME = r"[A-Za-z0-9_.\-]{1,63}|\[unknown\]|\[不明\]"
WINDOW = 4096
AFTER = 1024   # bytes after a failure line `_after` looks at (longer secondary records: `_details`)
NIL = "nil"
FINISH_READ = 10   # the groups `_finish` reads (finish_spec's names)
# then a pair match's: %p of the failure and connection lines, whether `_after` read what follows,
# %p and text of the secondary record it read; then the host of each connection alternative
PAIR_NAMES = ("p", "k_p", "after", "d_p", "dm")
PAIR_READ = FINISH_READ + len(PAIR_NAMES)
# a group that never takes part in a match (group() gives None): lets one group() call fetch a
# fixed tuple of names whatever fields a template has
_NIL_GROUP = f"(?:(?P<{NIL}>\x00)(?<!\x00))?"


class FailureMemory(Protocol):
    """The scanner's memory between chunks that the fast lane reads and updates."""

    @property
    def last_failure(self) -> OrderedDict[str, int]: ...   # pid -> stream offset of its last failure


class Scanner(Protocol):
    """What the fast lane reads of the careful scanner it speeds up (the stderr scanner): its
    catalog and prefix, where its buffer starts in the stream (`base`), and the careful checks
    it defers to. Defined here, where it is used, so that the fast lane imports no scanner."""

    @property
    def catalog(self) -> Catalog: ...
    @property
    def prefix(self) -> Prefix: ...
    @property
    def conn_markers(self) -> list[tuple[re.Pattern[str], bytes]]: ...
    @property
    def state(self) -> FailureMemory: ...
    @property
    def base(self) -> int: ...   # stream offset of buf[0]
    @property
    def start_rx(self) -> re.Pattern[str]: ...
    @property
    def file(self) -> str | None: ...
    @property
    def log_timezone(self) -> str | None: ...
    def orphan_before(self, buf: bytes, ls: int) -> bool: ...
    def genuine_neighbours(self, buf: bytes, ls: int, le: int) -> bool: ...
    def line_of(self, offset: int) -> int: ...


class FastLane:
    def __init__(self, scanner: Scanner) -> None:
        self.s = scanner
        cat = scanner.catalog
        # a backend's failure and its `connection received` always carry what follows %q; a DETAIL
        # and the next record's start are read as the careful path reads them (%q part optional)
        prefix = compile_prefix_pattern(scanner.prefix.text, free=NAME, session=True)
        any_prefix = compile_prefix_pattern(scanner.prefix.text, free=NAME)
        encs = list(cat.encryption_names)
        self.templates: list[Template] = list(cat.templates)
        alts = []
        for i, t in enumerate(self.templates):
            lead = t.msgstr.split("%", 1)[0]   # (no conversion in it: the rest's are numbered alike)
            rest = pattern_text(t.msgstr[len(lead):], t.fields, encs, names=NAME, tag=f"t{i}_")
            alts.append((lead, f"(?P<t{i}>{rest})"))
        fatal = factored([(f"{x}:  ", "") for x in cat.severities], "FL")
        # (compiled on first use: the pair below reads the usual records, this regex the others)
        self._line = f"{_NIL_GROUP}{prefix}(?:{fatal})(?:{factored(alts, 'pna')})"
        secondary = factored([(x, "") for x in cat.secondary], "D")
        self.detail_rx = re.compile(f"{any_prefix}(?:{secondary})")
        after = _after(scanner, any_prefix, secondary)   # (regex text: read inside the pair's)
        conns = "|".join(f"(?P<c{i}>{pattern_text(m, ('host', 'port'), (), tag=f'c{i}_')})"
                         for i, m in enumerate(_conn_msgstrs(scanner)))
        self.conn_rx = re.compile(f"{prefix}(?:{fatal})(?:{conns})")
        self.conn_markers = [m for _, m in scanner.conn_markers]
        self._roles: dict[str, bool | None] = {}
        pair, self.pair_alts = _pair(scanner, prefix, fatal, conns, self._line, self.conn_markers)
        # the pair, with what follows it read first, when it can be (`_after`, in a lookahead: its
        # groups close before the pair's, so `lastgroup` is still the template's); the two lines
        # end where `fullmatch` on them would end them (no part of the pair matches a newline)
        groups = set(re.findall(r"\(\?P<(\w+)>", self._line))
        self.prefix_groups = frozenset(k for k in ("p", "u", "d", "h", "r", "m", "t", "n") if k in groups)
        # per template: the group names of user, database, host, encryption (None when absent)
        self.fields = [tuple(f"t{i}_{f}" if f"t{i}_{f}" in groups else None
                             for f in ("user", "database", "host", "encryption"))
                       for i in range(len(self.templates))]
        # per template: whether the database comes from %d (no database or host in the message),
        # and the names _finish fetches in one group() call: user, database, %u, %d, host, %h,
        # %r, the time stamp (%m, else %t) and encryption
        pg = self.prefix_groups
        prefix_names = [k if k in pg else NIL for k in ("u", "d")]
        stamp = "m" if "m" in pg else "t" if "t" in pg else NIL
        self.finish_spec = [(t, not dg and not hg, (ug or NIL, dg or NIL, *prefix_names, hg or NIL,
                                                    "h" if "h" in pg else NIL, "r" if "r" in pg else NIL,
                                                    stamp, eg or NIL, "n" if "n" in pg else NIL))
                            for t, (ug, dg, hg, eg) in zip(self.templates, self.fields, strict=True)]
        # the pair's matching template group -> its spec and the names of one group() call: the
        # fields above, %p of both lines, the host of each connection alternative; as group
        # numbers (group() looks a name up in a dict each time: ~30 per failure line)
        hosts = tuple(h for _, h in self.pair_alts)
        # only the groups read below capture: the regex engine's cost grows with the number of
        # groups (each one it passes is recorded and copied into the match), and a pair has ~200
        read = {n for _, _, names in self.finish_spec for n in names} | set(PAIR_NAMES) | set(hosts)
        read |= {f"t{i}" for i in range(len(self.templates))}   # (lastgroup names the template)
        self.pair_rx = None if pair is None else re.compile(uncaptured(
            rf"(?=[^\n]*+\n[^\n]*+(?:{after}(?P<after>))?+)(?:{pair})(?=\n|\Z)", read))
        number = self.pair_rx.groupindex if self.pair_rx is not None else {}
        self.pair_spec: dict[str, tuple[Template, bool, tuple[str | int, ...]]] = {
            f"t{i}": (t, db, tuple(number.get(n, n) for n in (*names, *PAIR_NAMES, *hosts)))
            for i, (t, db, names) in enumerate(self.finish_spec)}
        self._last_failure = scanner.state.last_failure

    @cached_property
    def line_rx(self) -> re.Pattern[str]:
        return re.compile(self._line)

    def event(self, buf: bytes, ls: int, le: int, final: bool) -> AuthEvent | None:
        """The event of the plain record at buf[ls:le], or None: use the careful path."""
        if self.pair_rx is not None and ls:
            cs = buf.rfind(b"\n", 0, ls - 1) + 1
            if ls - cs <= WINDOW:
                event = self._paired(buf, cs, ls, le, final)
                if event is not None:
                    return event
        return self._single(buf, ls, le, final)

    def _paired(self, buf: bytes, cs: int, ls: int, le: int, final: bool) -> AuthEvent | None:
        """The common shape: the backend's `connection received` is the line just before.
        One match reads both lines. This is exactly what `_single` concludes for them: the newest
        connection marker before the failure is on that line (it is within WINDOW), and no part
        of either pattern can match a newline, so each line is read as it would be alone.
        Usually the same match also reads what follows (`_after`, in a lookahead)."""
        m = self.pair_rx.match(buf[cs:le + AFTER].decode("utf-8", "replace"))   # type: ignore[union-attr]
        if m is None:
            return None
        spec = self.pair_spec.get(m.lastgroup)   # type: ignore[arg-type]
        if spec is None:
            return None
        values = m.group(*spec[2])
        pid, conn_pid, after, detail_pid, detail_text = values[FINISH_READ:PAIR_READ]
        if not pid or conn_pid != pid or self._last_failure.get(pid, -1) > self.s.base + cs:
            return None
        for conn_host in values[PAIR_READ:]:   # the connection alternative that matched (at most one)
            if conn_host is not None:
                break
        else:
            return None
        if after is not None:   # `_after` read what follows
            if detail_text is not None and detail_pid != pid:   # a secondary record: its %p
                return None
            details = detail_text
            if details:   # each continuation line's tab off, as `_details` joins them
                details = details.replace("\n\t", "\n")
        else:
            details = self._details(buf, le, final, pid)
            if details is None:
                return None
        return self._finish(spec, values, details, ls, pid, conn_host)

    def _single(self, buf: bytes, ls: int, le: int, final: bool) -> AuthEvent | None:
        m = self.line_rx.fullmatch(buf[ls:le].decode("utf-8", "replace"))
        if m is None or not m.lastgroup or m.lastgroup[0] != "t":
            return None
        spec = self.finish_spec[int(m.lastgroup[1:])]
        group = m.group
        pid = group("p") if "p" in self.prefix_groups else None
        details = self._details(buf, le, final, pid)
        if details is None:
            return None
        conn_host = None
        conn_end = -1
        if pid:
            found = self._connection(buf, ls, pid)
            if found is None:
                return None
            conn_host, conn_pos, conn_end = found
            if self.s.state.last_failure.get(pid, -1) > self.s.base + conn_pos:
                return None
        if conn_end != ls - 1 and self.s.orphan_before(buf, ls):
            return None
        return self._finish(spec, group(*spec[2]), details, ls, pid, conn_host)

    def _finish(self, spec: tuple[Template, bool, tuple[str | int, ...]], values: tuple[Any, ...], details: str | None,
                ls: int, pid: str | None, conn_host: str | None) -> AuthEvent | None:
        """`values`: the groups named by spec[2] (the first ten are the fields read here)."""
        t, db_from_prefix, _ = spec
        if "user" not in t.fields:
            return None   # no name to check it by: the careful path vets its connection line and time
        user, database, pu, pd, host, h, r, stamp, enc, n = values[:FINISH_READ]
        if (user is not None and pu is not None and pu != user) or (
                database is not None and pd is not None and pd != database):
            return None
        if h is not None or r is not None:
            for value in (h, r):   # %h, %r in the prefix
                if value is not None:
                    other = _strip_port(value)
                    if other and other != "[local]":
                        if host is not None and other != host:
                            return None
                        host = other
        if conn_host is not None:
            if host is not None and conn_host != host:
                return None
            host = conn_host
        s = self.s
        if pid:   # (Scanner._remember, inline: this runs once per failure)
            lf = self._last_failure
            lf[pid] = s.base + ls
            lf.move_to_end(pid)
            if len(lf) > 4096:
                lf.popitem(last=False)
        cat = s.catalog
        unknown = cat.unknown
        if user is None:
            user = pu
        if database is None and db_from_prefix:
            database = pd
        roles = self._roles
        exists = (roles[details] if details in roles else self._role_exists(details)) if details else None
        network = None
        if host is None and details:   # no address in the log: the matched pg_hba.conf rule's
            rule = cat.matched_rule(details)
            if rule:
                host, network = hba_rule_source(rule)
        return AuthEvent(
            f"{stamp[:10]}T{stamp[11:-4]}+00:00" if stamp and stamp.endswith(" UTC")   # (see _utc)
            else iso_time(stamp or n, s.log_timezone),
            host, None if user in unknown else user, None if database in unknown else database, t.kind,
            cat.encryption_names.get(enc) if enc else None, exists, t.lang, True, s.file, s.line_of(ls),
            network)

    def _role_exists(self, details: str) -> bool | None:
        """catalog.role_exists, remembered: scanners repeat the same few DETAIL texts, and trying
        every translated DETAIL pattern is a large part of a failure's cost. Bounded."""
        roles = self._roles
        if details in roles:
            return roles[details]
        if len(roles) >= 4096:
            roles.clear()
        exists = roles[details] = self.s.catalog.role_exists(details)
        return exists

    def _details(self, buf: bytes, le: int, final: bool, pid: str | None) -> str | None:
        """DETAIL/HINT records of the same backend right after the line; None = not plain."""
        n = len(buf)
        j = le + 1
        if j >= n:
            return "" if final else None
        if buf[j] == 9:
            return None
        details: list[str] = []
        while True:
            e = buf.find(b"\n", j)
            if e < 0:
                return None
            line = buf[j:e].decode("utf-8", "replace")
            dm = self.detail_rx.match(line)
            if dm is None:
                return "\n".join(details) if self.s.start_rx.match(line) else None
            if pid is not None and dm.group("p") != pid:
                return None
            details.append(line[dm.end():])
            j = e + 1
            while j < n and buf[j] == 9:
                e = buf.find(b"\n", j)
                if e < 0:
                    return None
                details.append(buf[j + 1:e].decode("utf-8", "replace"))
                j = e + 1
            if j >= n:
                return "\n".join(details) if final else None

    def _connection(self, buf: bytes, ls: int, pid: str) -> tuple[str, int, int] | None:
        lo = max(0, ls - WINDOW)
        for marker in self.conn_markers:
            i = buf.rfind(marker, lo, ls)
            while i >= 0:
                cs = buf.rfind(b"\n", 0, i) + 1
                ce = buf.find(b"\n", i)
                m = self.conn_rx.fullmatch(buf[cs:ce].decode("utf-8", "replace"))
                if m is None:
                    return None
                if m.group("p") == pid and m.lastgroup:
                    if ce + 1 != ls and not self.s.genuine_neighbours(buf, cs, ce):
                        return None   # inside another record's names, perhaps: the careful path decides
                    return m.group(m.lastgroup + "_host"), cs, ce
                i = buf.rfind(marker, lo, cs)
        return None


def _pair(scanner: Scanner, prefix: str, fatal: str, conns: str, line: str,
          markers: list[bytes]) -> tuple[str | None, list[tuple[str, str]]]:
    """The `connection received` line and the failure line as one pattern (groups of the first
    line renamed k_*), or None when that shortcut would not be exact: no %p to tie the lines,
    or a prefix part that could match across a newline (%i, a newline in the prefix)."""
    text = scanner.prefix.text
    escapes = scanner.prefix.escapes
    if "p" not in escapes or "i" in escapes or "\n" in text or not markers:
        return None, []
    first = _renamed(f"{prefix}(?:{fatal})(?:{conns})", "k_")
    first_marker = markers[0].decode()
    # only the alternatives that contain the marker `_connection` searches for first
    alts = [(f"k_c{i}", f"k_c{i}_host") for i, m in enumerate(_conn_msgstrs(scanner))
            if first_marker in m]
    return f"{first}\n{line}", alts


def factored(items: list[tuple[str, str]], prefer: str = "") -> str:
    """Alternatives (literal lead, regex of the rest), in order, as one regex that finds the same
    first match with fewer steps: alternatives are grouped by their next literal character and
    common leads are written once. Only alternatives whose next character is the text's can match,
    so the first to match in each group (which keeps their order) is the first overall; groups
    (at most one of which can match) are tried in `prefer`'s order. Where a lead has run out, the
    alternatives stay as given."""
    if len(items) == 1:
        return re.escape(items[0][0]) + items[0][1]
    if any(not lead for lead, _ in items):
        return "|".join(re.escape(lead) + rest for lead, rest in items)
    first, last = min(lead for lead, _ in items), max(lead for lead, _ in items)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    common = first[:n]
    if common:
        return re.escape(common) + f"(?:{factored([(lead[len(common):], r) for lead, r in items], prefer)})"
    groups: dict[str, list[tuple[str, str]]] = {}
    for lead, rest in items:
        groups.setdefault(lead[0], []).append((lead[1:], rest))
    order = sorted(groups, key=lambda c: prefer.find(c) % (len(prefer) + 1))
    return "|".join(factored([(c + lead, r) for lead, r in groups[c]], prefer) if len(groups[c]) == 1
                    else re.escape(c) + f"(?:{factored(groups[c], prefer)})" for c in order)


def _after(scanner: Scanner, prefix: str, secondary: str) -> str:
    """What `_details` reads after a failure line, as one match on the text from the failure
    line's newline on, for the usual shapes: no secondary record, or one (with its tab
    continuation lines), then a whole record-start line. No match: ask `_details`.
    The secondary record is read where `detail_rx` reads it (the rest of the pattern does not
    depend on how its line splits, so the first split found is `detail_rx.match`'s); a
    secondary record is never skipped (it is taken whole); no part can match a newline
    except the explicit ones (the prefix has no %i, checked by `_pair`)."""
    detail = f"{prefix}(?:{secondary})"
    # a record start (`start_rx`); tried first with the plain names, which is much cheaper than
    # the free text's lazy loops and, matching, implies `start_rx` matches (the same labels)
    labels = "|".join(re.escape(x) for x in [f"{s}:  " for s in scanner.catalog.severities]
                      + list(scanner.catalog.secondary))
    start = f"(?:{_renamed(prefix, 'f_')}(?:{labels})|{_renamed(scanner.start_rx.pattern, 's_')})"
    # the secondary record, if `detail_rx` reads one here, is taken whole (possessive): then one
    # newline, no second secondary record; else (no record) the line must be a record start
    return (rf"\n(?!\t)(?:{_renamed(detail, 'd_')}(?P<dm>[^\n]*+(?:\n\t[^\n]*+)*+))?+"
            rf"(?(dm)\n(?!\t)(?!{_renamed(detail, 'x_')})|)(?={start}[^\n]*\n)")


def uncaptured(pattern: str, keep: set[str]) -> str:
    """The pattern with every named group not in `keep` made non-capturing (the same matches:
    no pattern here refers back to a group, except `(?(dm)...)`, which keeps `dm`)."""
    return re.sub(r"\(\?P<(\w+)>", lambda m: m.group(0) if m.group(1) in keep else "(?:", pattern)


def _renamed(pattern: str, tag: str) -> str:
    """The pattern with its groups renamed (several copies of a prefix in one regex)."""
    return re.sub(r"\(\?P<(\w+)>", rf"(?P<{tag}\1>", pattern)


def _conn_msgstrs(scanner: Scanner) -> list[str]:
    from .catalog import CONN_RECEIVED, translations

    out: list[str] = []
    for lang in scanner.catalog.langs:
        for msgid in CONN_RECEIVED:
            out += translations(lang, scanner.catalog.locale_dir).get(msgid, ())
    return list(dict.fromkeys(out))


def _strip_port(text: str | None) -> str | None:
    return re.sub(r"\(\d+\)$", "", text) if text else None


def _utc(stamp: str) -> str:
    """'2026-11-24 23:43:01.757 UTC' -> '2026-11-24T23:43:01.757+00:00' without datetime."""
    return f"{stamp[:10]}T{stamp[11:-4]}+00:00"
