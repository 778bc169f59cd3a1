"""postgresql.conf: every setting with its file:line, includes followed, last one wins.

`parse_conf(text, filename)` is pure (settings, include directives and errors in order);
`load_conf(path)` follows `include`, `include_if_exists`, `include_dir` relative to the
including file and then reads `postgresql.auto.conf` from the data directory, as the server
does. The server's `pg_file_settings` view is the oracle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...records import ParseProblem

MAX_INCLUDE_DEPTH = 10
_NAME = r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*"
_LINE = re.compile(rf"^\s*(?P<name>{_NAME})\s*=?\s*(?P<value>'(?:[^'\\\n]|''|\\.)*'|[^\s#']+)\s*(?:#.*)?$")
_QUOTED_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    value: str
    file: str
    line: int

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class ConfInclude:
    kind: str
    target: str
    file: str
    line: int


ConfError = ParseProblem


@dataclass(slots=True)
class ConfFile:
    path: str
    settings: list[Setting] = field(default_factory=list)
    errors: list[ConfError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def effective(self) -> dict[str, Setting]:
        """name -> the occurrence the server uses (the last one read)."""
        result: dict[str, Setting] = {}
        for setting in self.settings:
            result[setting.name] = setting
        return result

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self.effective().get(name.lower())
        return found.value if found else default

    def occurrences(self, name: str) -> list[Setting]:
        return [s for s in self.settings if s.name == name.lower()]


def parse_conf(text: str, filename: str = "postgresql.conf") -> list[Setting | ConfInclude | ConfError]:
    entries: list[Setting | ConfInclude | ConfError] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(raw)
        if not match:
            entries.append(ConfError(filename, number, f'syntax error near "{stripped[:60]}"'))
            continue
        name = match["name"].lower()
        value = _unquote(match["value"])
        if name in ("include", "include_if_exists", "include_dir"):
            entries.append(ConfInclude(name, value, filename, number))
        else:
            entries.append(Setting(name, value, filename, number))
    return entries


def _unquote(value: str) -> str:
    if not value.startswith("'"):
        return value
    inner, out, pos = value[1:-1], [], 0
    while pos < len(inner):
        c = inner[pos]
        if c == "'" and inner[pos + 1:pos + 2] == "'":
            out.append("'")
            pos += 2
        elif c == "\\" and pos + 1 < len(inner):
            nxt = inner[pos + 1]
            out.append(_QUOTED_ESCAPES.get(nxt, nxt))
            pos += 2
        else:
            out.append(c)
            pos += 1
    return "".join(out)


def load_conf(path: str | Path, *, auto_conf: bool = True) -> ConfFile:
    """Read postgresql.conf, its includes, then postgresql.auto.conf (which overrides)."""
    path = Path(path)
    result = ConfFile(str(path))
    _load_into(result, path, None, 0)
    if auto_conf:
        datadir = result.get("data_directory")
        auto = (Path(datadir) if datadir else path.parent) / "postgresql.auto.conf"
        if auto.is_file():
            _load_into(result, auto, None, 0)
    return result


def _load_into(result: ConfFile, path: Path, origin: ConfInclude | None, depth: int) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        if origin is None or origin.kind != "include_if_exists":
            file, line = (origin.file, origin.line) if origin else (str(path), 0)
            result.errors.append(ConfError(file, line, f'could not open configuration file "{path}": {err.strerror}'))
        return
    result.files.append(str(path))
    for entry in parse_conf(text, str(path)):
        if isinstance(entry, Setting):
            result.settings.append(entry)
        elif isinstance(entry, ConfError):
            result.errors.append(entry)
        elif depth >= MAX_INCLUDE_DEPTH:
            result.errors.append(ConfError(entry.file, entry.line, "configuration files nested too deeply"))
        else:
            _follow(result, entry, path.parent, depth)


def _follow(result: ConfFile, inc: ConfInclude, base: Path, depth: int) -> None:
    target = base / inc.target
    if inc.kind != "include_dir":
        _load_into(result, target, inc, depth + 1)
        return
    if not target.is_dir():
        result.errors.append(ConfError(inc.file, inc.line, f'could not open configuration directory "{target}"'))
        return
    # The server reads only *.conf files not starting with a dot, in name order.
    for child in sorted(p for p in target.iterdir() if p.name.endswith(".conf") and not p.name.startswith(".")):
        _load_into(result, child, inc, depth + 1)
