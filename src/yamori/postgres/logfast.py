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
from typing import TYPE_CHECKING

from ..records import AuthEvent
from .logformat import compile_prefix_pattern, iso_time
from .messages import Template, pattern_text

if TYPE_CHECKING:
    from .log import StderrScanner

NAME = r"[A-Za-z0-9_.\-]{1,63}|\[unknown\]|\[不明\]"
WINDOW = 4096


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
        self.line_rx = re.compile(f"{prefix}(?:{fatal})(?:{'|'.join(alts)})")
        secondary = "|".join(re.escape(x) for x in cat.secondary)
        self.detail_rx = re.compile(f"{prefix}(?:{secondary})")
        conns = "|".join(f"(?P<c{i}>{pattern_text(m, ('host', 'port'), (), tag=f'c{i}_')})"
                         for i, m in enumerate(_conn_msgstrs(scanner)))
        self.conn_rx = re.compile(f"{prefix}(?:{fatal})(?:{conns})")
        self.conn_markers = [m for _, m in scanner.conn_markers]
        groups = set(self.line_rx.groupindex)
        self.prefix_groups = frozenset(k for k in ("p", "u", "d", "h", "r", "m", "t", "n") if k in groups)
        # per template: the group names of user, database, host, encryption (None when absent)
        self.fields = [tuple(f"t{i}_{f}" if f"t{i}_{f}" in groups else None
                             for f in ("user", "database", "host", "encryption"))
                       for i in range(len(self.templates))]

    def event(self, buf: bytes, ls: int, le: int, final: bool) -> AuthEvent | None:
        """The event of the plain record at buf[ls:le], or None: use the careful path."""
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

    def _finish(self, group: Callable[[str], str | None], index: int, details: str, ls: int, pid: str | None,
                conn_host: str | None) -> AuthEvent | None:
        t = self.templates[index]
        ug, dg, hg, eg = self.fields[index]
        pg = self.prefix_groups
        user = group(ug) if ug else None
        database = group(dg) if dg else None
        pu = group("u") if "u" in pg else None
        pd = group("d") if "d" in pg else None
        if (user is not None and pu is not None and pu != user) or (
                database is not None and pd is not None and pd != database):
            return None
        host = group(hg) if hg else None
        for key in ("h", "r"):
            if key in pg:
                other = _strip_port(group(key))
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
        unknown = s.catalog.unknown
        if user is None:
            user = pu
        if database is None and not dg and not hg:
            database = pd
        stamp = group("m") if "m" in pg else group("t") if "t" in pg else None
        enc = group(eg) if eg else None
        return AuthEvent(
            time=_utc(stamp) if stamp and stamp.endswith(" UTC") else iso_time(
                stamp or (group("n") if "n" in pg else None), s.log_timezone),
            source=host, user=None if user in unknown else user,
            database=None if database in unknown else database, kind=t.kind,
            encryption=s.catalog.encryption_names.get(enc) if enc else None,
            role_exists=s.catalog.role_exists(details) if details else None, lang=t.lang, trusted=True,
            file=s.file, line=s._line_of(ls))

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
