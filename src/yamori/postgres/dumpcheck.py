"""Refuse a plain SQL dump that would make psql do anything but send SQL.

psql runs backslash meta-commands (`\\! cmd`, `\\o |cmd`, `\\copy ... to program`, `\\set x `cmd``)
wherever they appear outside a quoted literal: at the start of a line, after spaces, after a
`;`. A dump is data a database user shaped, so before psql sees a plain dump, every byte
outside COPY data is lexed the way psql lexes it, and any backslash outside a literal is an
error naming the line. COPY ... FROM stdin data (up to its `\\.` line) is data to psql, not
commands, and is skipped.

Pure: `check_lines(lines)` -> the first problem or None; the reader feeds it chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_COPY_FROM_STDIN = re.compile(r"^\s*copy\b.*\bfrom\s+stdin\b", re.IGNORECASE | re.DOTALL)
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
# pg_dump >= 17.6 / 15.14 brackets a plain dump in \restrict KEY ... \unrestrict KEY (psql's own
# guard: no other meta-command runs in between); those two exact lines are allowed.
_RESTRICT = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+\r?\n?$")
_STATEMENT_KEPT = 4096  # enough of a statement's text to recognise COPY ... FROM stdin


@dataclass(frozen=True, slots=True)
class DumpProblem:
    line: int
    message: str

    def text(self, path: str) -> str:
        return f"{path}:{self.line}: {self.message}"


class _Lexer:
    def __init__(self) -> None:
        self.state = "sql"  # sql, quote, equote, ident, dollar, block, copydata
        self.tag = ""  # the $tag$ of a dollar-quoted body
        self.depth = 0  # nesting of /* */ comments
        self.statement: list[str] = []
        self.kept = 0
        self.copy_pending = False

    def keep(self, text: str) -> None:
        if self.kept < _STATEMENT_KEPT:
            self.statement.append(text[: _STATEMENT_KEPT - self.kept])
            self.kept += len(text)

    def line(self, text: str, number: int) -> DumpProblem | None:
        if self.state == "copydata":
            if text.rstrip("\r\n") == "\\.":
                self.state = "sql"
            return None
        if self.state == "sql" and not "".join(self.statement).strip() and _RESTRICT.match(text):
            return None
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if self.state == "sql":
                if c == "\\":
                    word = text[i:].split(None, 1)[0][:20] if text[i:].strip() else "\\"
                    return DumpProblem(number, f"psql meta-command {word!r} outside COPY data: a dump must "
                                               "hold SQL only (refused, nothing was run)")
                if c == "'":
                    before = text[i - 1] if i > 0 else " "
                    prior = text[i - 2] if i > 1 else " "
                    escaped = before in "eE" and not (prior.isalnum() or prior == "_")
                    self.state = "equote" if escaped else "quote"
                elif c == '"':
                    self.state = "ident"
                elif c == "-" and text.startswith("--", i):
                    if "\\" in text[i:]:  # psql skips comments, but refusing costs nothing: be strict
                        return DumpProblem(number, "backslash in a comment outside COPY data (refused)")
                    break  # comment to the end of the line
                elif c == "/" and text.startswith("/*", i):
                    self.state, self.depth = "block", 1
                    i += 2
                    continue
                elif c == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                    match = _DOLLAR_TAG.match(text, i)
                    if match:
                        self.state, self.tag = "dollar", match.group(0)
                        i = match.end()
                        continue
                elif c == ";":
                    if _COPY_FROM_STDIN.match("".join(self.statement)):
                        self.copy_pending = True
                    self.statement, self.kept = [], 0
                    i += 1
                    continue
                self.keep(c)
            elif self.state == "quote":
                if c == "\\" and text.startswith("'", i + 1):
                    # with standard_conforming_strings off psql reads \' as an escaped quote, with it on
                    # as the end of the literal: the two readings disagree on what follows
                    return DumpProblem(number, "backslash before a quote in a string literal: ambiguous "
                                               "(standard_conforming_strings) — refused")
                if c == "'":
                    self.state = "sql"  # a doubled '' re-enters the quote at once
            elif self.state == "equote":
                if c == "\\":
                    i += 2
                    continue
                if c == "'":
                    self.state = "sql"
            elif self.state == "ident":
                if c == '"':
                    self.state = "sql"
            elif self.state == "dollar":
                if c == "$" and text.startswith(self.tag, i):
                    self.state = "sql"
                    i += len(self.tag)
                    continue
            elif self.state == "block":
                if c == "\\":
                    return DumpProblem(number, "backslash in a comment outside COPY data (refused)")
                if text.startswith("*/", i):
                    self.depth -= 1
                    i += 2
                    if self.depth == 0:
                        self.state = "sql"
                    continue
                if text.startswith("/*", i):
                    self.depth += 1
                    i += 2
                    continue
            i += 1
        if self.copy_pending and self.state == "sql":
            self.copy_pending = False
            self.state = "copydata"
        return None


def check_lines(lines: Iterable[str]) -> DumpProblem | None:
    """The first meta-command (or undecodable text) outside COPY data, or None."""
    return scan_lines(lines)[0]


_OWNER = re.compile(r"^ALTER .* OWNER TO (.+);\s*$")
_GRANT = re.compile(r"^GRANT .* TO (.+?)(?: WITH (?:GRANT|ADMIN) OPTION)?;\s*$")
_REVOKE = re.compile(r"^REVOKE .* FROM (.+?)(?: CASCADE)?;\s*$")
_ROLE = re.compile(r'^(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))$')


def scan_lines(lines: Iterable[str]) -> tuple[DumpProblem | None, set[str]]:
    """The first problem, and the roles pg_dump's ALTER ... OWNER TO / GRANT / REVOKE lines name
    (a throwaway cluster creates them so the dump restores as written)."""
    lexer = _Lexer()
    roles: set[str] = set()
    for number, text in enumerate(lines, 1):
        if "\x00" in text:
            return DumpProblem(number, "NUL byte: not an SQL dump"), roles
        if lexer.state == "sql" and text[:1] in "AGR":
            match = _OWNER.match(text) or _GRANT.match(text) or _REVOKE.match(text)
            if match:
                roles.update(_role_names(match.group(1)))
        problem = lexer.line(text, number)
        if problem is not None:
            return problem, roles
    return None, roles


def _role_names(text: str) -> list[str]:
    found = []
    for part in text.split(","):
        name = _ROLE.match(part.strip())
        if name and name.group(1) is not None:
            found.append(name.group(1).replace('""', '"'))
        elif name and name.group(2).upper() not in ("PUBLIC", "CURRENT_USER", "SESSION_USER", "CURRENT_ROLE"):
            found.append(name.group(2).lower())
    return found
