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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..records import AuthEvent
from .logformat import compile_prefix_pattern, iso_time
from .messages import Template, pattern_text

if TYPE_CHECKING:
    from .log import StderrScanner

NAME = r"[A-Za-z0-9_.\-]{1,63}|\[unknown\]|\[不明\]"
WINDOW = 4096
NIL = "nil"
# a group that never takes part in a match (group() gives None): lets one group() call fetch a
# fixed tuple of names whatever fields a template has
_NIL_GROUP = f"(?:(?P<{NIL}>\x00)(?<!\x00))?"


class FastLane:
    def __init__(self, scanner: StderrScanner) -> None:
        self.s = scanner
        cat = scanner.catalog
        prefix = compile_prefix_pattern(scanner.prefix.text, free=NAME)
        encs = list(cat.encryption_names)
        self.templates: list[Template] = list(cat.templates)
        alts = []
        for i, t in enumerate(self.templates):
            alts.append(f"(?P<t{i}>{pattern_text(t.msgstr, t.fields, encs, names=NAME, tag=f't{i}_')})")
        fatal = "|".join(re.escape(f"{x}:  ") for x in cat.severities)
        self.line_rx = re.compile(f"{_NIL_GROUP}{prefix}(?:{fatal})(?:{'|'.join(alts)})")
        secondary = "|".join(re.escape(x) for x in cat.secondary)
        self.detail_rx = re.compile(f"{prefix}(?:{secondary})")
        conns = "|".join(f"(?P<c{i}>{pattern_text(m, ('host', 'port'), (), tag=f'c{i}_')})"
                         for i, m in enumerate(_conn_msgstrs(scanner)))
        self.conn_rx = re.compile(f"{prefix}(?:{fatal})(?:{conns})")
        self.conn_markers = [m for _, m in scanner.conn_markers]
        self._roles: dict[str, bool | None] = {}
        self.pair_rx, self.pair_alts = _pair(scanner, prefix, fatal, conns, self.line_rx.pattern,
                                             self.conn_markers)
        groups = set(self.line_rx.groupindex)
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
        self.finish_spec = [(not dg and not hg, (ug or NIL, dg or NIL, *prefix_names, hg or NIL,
                                                 "h" if "h" in pg else NIL, "r" if "r" in pg else NIL,
                                                 stamp, eg or NIL))
                            for ug, dg, hg, eg in self.fields]

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
        of either pattern can match a newline, so each line is read as it would be alone."""
        m = self.pair_rx.fullmatch(buf[cs:le].decode("utf-8", "replace"))   # type: ignore[union-attr]
        if m is None or not m.lastgroup or m.lastgroup[0] != "t":
            return None
        group = m.group
        index = int(m.lastgroup[1:])
        for alt, host_group in self.pair_alts:
            if group(alt) is not None:
                conn_host = group(host_group)
                break
        else:
            return None
        pid, conn_pid = group("p", "k_p")
        s = self.s
        if not pid or conn_pid != pid or s.state.last_failure.get(pid, -1) > s.base + cs:
            return None
        details = self._details(buf, le, final, pid)
        if details is None:
            return None
        return self._finish(group, index, details, ls, pid, conn_host)

    def _single(self, buf: bytes, ls: int, le: int, final: bool) -> AuthEvent | None:
        m = self.line_rx.fullmatch(buf[ls:le].decode("utf-8", "replace"))
        if m is None or not m.lastgroup or m.lastgroup[0] != "t":
            return None
        index = int(m.lastgroup[1:])
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
        if conn_end != ls - 1 and self.s._orphan_before(buf, ls):
            return None
        return self._finish(group, index, details, ls, pid, conn_host)

    def _finish(self, group: Callable[..., Any], index: int, details: str, ls: int, pid: str | None,
                conn_host: str | None) -> AuthEvent | None:
        t = self.templates[index]
        db_from_prefix, names = self.finish_spec[index]
        # one group() call for every field (absent ones name the never-set group)
        user, database, pu, pd, host, h, r, stamp, enc = group(*names)
        if (user is not None and pu is not None and pu != user) or (
                database is not None and pd is not None and pd != database):
            return None
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
        if pid:
            s._remember(pid, s.base + ls)
        cat = s.catalog
        unknown = cat.unknown
        if user is None:
            user = pu
        if database is None and db_from_prefix:
            database = pd
        return AuthEvent(
            time=_utc(stamp) if stamp and stamp.endswith(" UTC") else iso_time(
                stamp or (group("n") if "n" in self.prefix_groups else None), s.log_timezone),
            source=host, user=None if user in unknown else user,
            database=None if database in unknown else database, kind=t.kind,
            encryption=cat.encryption_names.get(enc) if enc else None,
            role_exists=self._role_exists(details) if details else None, lang=t.lang, trusted=True,
            file=s.file, line=s._line_of(ls))

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
                    return m.group(m.lastgroup + "_host"), cs, ce
                i = buf.rfind(marker, lo, cs)
        return None


def _pair(scanner: StderrScanner, prefix: str, fatal: str, conns: str, line: str,
          markers: list[bytes]) -> tuple[re.Pattern[str] | None, list[tuple[str, str]]]:
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
    return re.compile(f"{first}\n{line}"), alts


def _renamed(pattern: str, tag: str) -> str:
    """The pattern with its groups renamed (several copies of a prefix in one regex)."""
    return re.sub(r"\(\?P<(\w+)>", rf"(?P<{tag}\1>", pattern)


def _conn_msgstrs(scanner: StderrScanner) -> list[str]:
    from .messages import CONN_RECEIVED, translations

    out: list[str] = []
    for lang in scanner.catalog.langs:
        for msgid in CONN_RECEIVED:
            out += translations(lang).get(msgid, ())
    return list(dict.fromkeys(out))


def _strip_port(text: str | None) -> str | None:
    return re.sub(r"\(\d+\)$", "", text) if text else None


def _utc(stamp: str) -> str:
    """'2026-11-24 23:43:01.757 UTC' -> '2026-11-24T23:43:01.757+00:00' without datetime."""
    return f"{stamp[:10]}T{stamp[11:-4]}+00:00"
