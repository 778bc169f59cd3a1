"""What the readings of a stderr line say: the failure templates their messages match, and
whether the names in the prefix are exactly the names in the message.

PostgreSQL writes %u and %d raw into the prefix and quotes them in the message, so a reading is
consistent only when both agree; a record whose prefix spans lines (a newline in a name) is read
from each earlier line it may start on. The names are at most NAMEDATALEN bytes, which bounds
how far back a record can start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalog import Catalog, Template
from .lines import NAMEDATALEN, SPAN_BYTES, SPAN_LINES, LineGrammar, Reading
from .prefix import Prefix


@dataclass(slots=True)
class Parse:
    """A reading whose message matches a failure template: its fields, and the prefix's groups
    (with "_inconsistent" set when the names in the two disagree)."""

    template: Template
    fields: dict[str, str | None]
    groups: dict[str, str | None]
    prefix_text: str = ""


class Parses:
    """Readings of lines -> parses, for one server's prefix and message catalog."""

    def __init__(self, grammar: LineGrammar) -> None:
        self.grammar = grammar
        self.prefix: Prefix = grammar.prefix
        self.catalog: Catalog = grammar.catalog

    def spanning(self, buf: bytes, ls: int, le: int, extra: str,
                 loose: list[tuple[int, Parse]] | None = None) -> list[tuple[int, Parse]]:
        """Consistent readings of a record whose prefix starts on an earlier line: PostgreSQL
        writes %u and %d raw, so a newline in a name splits the prefix over several lines. A
        reading counts only if its names are at most NAMEDATALEN bytes and equal the names quoted
        in the message (PostgreSQL's tab continuations removed)."""
        out: list[tuple[int, Parse]] = []
        s = ls
        for _ in range(SPAN_LINES):
            if s == 0 or ls - s > SPAN_BYTES:
                break
            s = buf.rfind(b"\n", 0, s - 1) + 1
            text = buf[s:le].decode("utf-8", "replace")
            cut = len(buf[s:ls].decode("utf-8", "replace"))
            for m in self.grammar.label_rx.finditer(text, cut):
                if m.group() in self.grammar.secondary:
                    continue
                for rx in (self.grammar.prefix_rx, self.grammar.greedy_prefix_rx):
                    pm = rx.fullmatch(text, 0, m.start())
                    if pm is None:
                        continue
                    reading = Reading(pm.groupdict(), m.group(), text[m.end():], text[:m.start()])
                    message = reading.message + extra
                    for parse in self.parse(reading, message) + self.pinned(reading, message):
                        if "_inconsistent" not in parse.groups:
                            fitted = self.fits(parse, reading.prefix_text)
                            if fitted is not None and all(parse_key(fitted) != parse_key(p) for _, p in out):
                                out.append((s, fitted))
                        elif loose is not None:
                            loose.append((s, parse))
        return out

    def genuine_failure(self, reading: Reading, continuation: str) -> bool:
        """Some reading of the message is a failure whose names agree with the prefix's."""
        message = reading.message + continuation
        parses = self.parse(reading, message) + self.pinned(reading, message)
        return any("_inconsistent" not in p.groups for p in parses)

    def pinned(self, reading: Reading, message: str) -> list[Parse]:
        """The message read with the prefix's names put into the template (quotes inside names can
        make the message's own split ambiguous beyond its shortest and longest reading)."""
        out: list[Parse] = []
        g = reading.groups
        if self.prefix.session_missing(g):
            return out   # no backend writes a record without what follows %q
        for t in self.catalog.templates:
            if t.marker not in message:
                continue
            text = t.lazy_text
            for esc, key in (("u", "user"), ("d", "database")):
                value = g.get(esc)
                if value is not None and key in t.fields:
                    text = text.replace(f"(?P<{key}>.*?)", f"(?P<{key}>{re.escape(value)})")
            m = re.compile(text, re.DOTALL).fullmatch(message)
            if m is not None:
                out.append(Parse(t, m.groupdict(), g, reading.prefix_text))
        return out

    def fits(self, parse: Parse, prefix_text: str) -> Parse | None:
        """The reading with its names split as the message pins them, if they are NAMEDATALEN
        bytes at most; else None."""
        pins = {esc: parse.fields[key] for esc, key in (("u", "user"), ("d", "database"))
                if esc in self.prefix.escapes and parse.fields.get(key) is not None}
        m = self.prefix.with_values(pins).fullmatch(prefix_text)  # type: ignore[arg-type]
        if m is None:
            return None
        groups = {**parse.groups, **{k: v for k, v in m.groupdict().items() if v is not None}}
        if any(len((groups.get(k) or "").encode()) > NAMEDATALEN for k in ("u", "d", "a")):
            return None
        if "\n" in (groups.get("a") or ""):
            return None   # PostgreSQL keeps only printable ASCII in application_name
        return Parse(parse.template, parse.fields, groups, prefix_text)

    def parse(self, reading: Reading, message: str) -> list[Parse]:
        out: list[Parse] = []
        backend = not self.prefix.session_missing(reading.groups)
        for template, fields in self.catalog.match(message):
            if backend and self.consistent(reading, fields):
                out.append(Parse(template, fields, reading.groups, reading.prefix_text))
            else:
                out.append(Parse(template, fields, {**reading.groups, "_inconsistent": "1"}, reading.prefix_text))
        return out

    def consistent(self, reading: Reading, fields: dict[str, str | None]) -> bool:
        """The names in the prefix must be exactly the names in the message."""
        pins: dict[str, str] = {}
        for esc, key in (("u", "user"), ("d", "database")):
            if esc in self.prefix.escapes and fields.get(key) is not None:
                pins[esc] = fields[key]  # type: ignore[assignment]
        if not pins:
            return True
        if all(reading.groups.get(k) == v for k, v in pins.items()):
            return True
        # another split of the same prefix text may carry exactly these names
        return self.prefix.with_values(pins).fullmatch(reading.prefix_text) is not None

    # -- attribution -------------------------------------------------------------------------


def parse_key(p: Parse) -> tuple[object, ...]:
    g = p.groups
    return (p.template.kind, p.fields.get("user"), p.fields.get("database"), p.fields.get("host"),
            g.get("p"), g.get("h"), g.get("r"), g.get("u"), g.get("d"))
