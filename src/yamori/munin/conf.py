"""plugin-conf.d: how munin-node configures each plugin (user, group, env.*, timeout).

Pure: `parse_plugin_conf(text, file)` reads one file into sections; `resolve(name, sections)`
applies them to one plugin the way munin-node 2.0 does (Munin::Node::Config):

- files are read in sorted order; a later file's value for the same section and key wins;
- an exact section (`[cpu]`) applies as is; wildcard sections (`[if_*]` prefix, `[*_temp]`
  suffix) only fill keys the plugin does not have yet, and they are tried in reverse sorted
  order of their names, so `[if_err_*]` (sorted after `[if_*]`) is applied first and wins;
- `group a, (b)` lists groups; a name in parentheses is optional (skipped if missing).

munin-node turns the wildcard into a regular expression without escaping it; we match the
literal prefix/suffix (plugin names are [-\\w@.:] so only `.` could differ).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..records import ParseProblem

_SECTION = re.compile(r"\[([^\]]+)\]")
_LINE = re.compile(r"([\w.]+)\s+(.+)")
_OLD_ENV = re.compile(r"env\s+([^=\s]+)\s*=\s*(.+)")
_FILE_NAME = re.compile(r"[-\w.:]+")
_KEYS = ("user", "group", "timeout", "command", "host_name", "update_rate")


@dataclass(slots=True)
class Section:
    """One `[name]` block: the keys it sets, with the file and line each came from."""

    name: str
    values: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PluginConf:
    """What plugin-conf.d says for one plugin, after wildcards."""

    user: str | None = None
    groups: tuple[str, ...] = ()
    timeout: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()


def parse_plugin_conf(text: str, file: str) -> tuple[list[Section], list[ParseProblem]]:
    """One plugin-conf.d file -> its sections in order, plus the lines it could not read.

    munin-node stops at the first bad line of a file; we skip that line and keep the rest,
    reporting each problem with its line."""
    sections: list[Section] = []
    problems: list[ParseProblem] = []
    current: Section | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(?<!\\)#.*", "", raw).replace("\\#", "#").strip()
        if not line:
            continue
        header = _SECTION.fullmatch(line)
        if header:
            current = Section(header.group(1).strip())
            sections.append(current)
            continue
        if current is None:
            problems.append(ParseProblem(file, number, "setting before the first [section]"))
            continue
        problem = _apply_line(current, line)
        if problem:
            problems.append(ParseProblem(file, number, problem))
    return sections, problems


def _apply_line(section: Section, line: str) -> str | None:
    old = _OLD_ENV.fullmatch(line)
    if old:
        return f"deprecated form 'env {old.group(1)}=...': write 'env.{old.group(1)} {old.group(2)}'"
    match = _LINE.fullmatch(line)
    if not match:
        return f"not 'key value': {line[:80]!r}"
    key, value = match.group(1), match.group(2).strip()
    if key.startswith("env."):
        name = key[4:]
        if not name:
            return "env. needs a variable name"
        section.env[name] = value
    elif key in _KEYS:
        if key == "timeout" and _number(value) is None:
            return f"timeout: expected seconds, got {value[:40]!r}"
        section.values[key] = value
    else:
        return f"unknown setting {key!r} (should it be 'env.{key}'?)"
    return None


def merge_sections(files: Iterable[list[Section]]) -> dict[str, Section]:
    """Sections of every file (in the order read) -> one section per name, later wins."""
    merged: dict[str, Section] = {}
    for sections in files:
        for section in sections:
            into = merged.setdefault(section.name, Section(section.name))
            into.values.update(section.values)
            into.env.update(section.env)
    return merged


def resolve(plugin: str, sections: Mapping[str, Section]) -> PluginConf:
    """The settings plugin-conf.d gives `plugin`: its own section, then wildcards fill gaps."""
    values: dict[str, str] = {}
    env: dict[str, str] = {}
    exact = sections.get(plugin)
    if exact is not None:
        values.update(exact.values)
        env.update(exact.env)
    for name in sorted((n for n in sections if _is_wildcard(n)), reverse=True):
        if not _wildcard_matches(name, plugin):
            continue
        section = sections[name]
        for key, value in section.env.items():
            env.setdefault(key, value)
        for key, value in section.values.items():
            values.setdefault(key, value)
    return PluginConf(
        user=values.get("user"),
        groups=tuple(g for g in re.split(r"[\s,]+", values.get("group", "")) if g),
        timeout=_number(values["timeout"]) if "timeout" in values else None,
        env=env,
        command=tuple(values.get("command", "").split()),
    )


def _is_wildcard(name: str) -> bool:
    return name.endswith("*") or name.startswith("*")


def _wildcard_matches(pattern: str, plugin: str) -> bool:
    if pattern.endswith("*"):
        return plugin.startswith(pattern[:-1])
    return plugin.endswith(pattern[1:])


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


# -- reader --------------------------------------------------------------------------------


def read_plugin_conf_dir(directory: Path,
                         ignore: Iterable[str] = (r"^\.", r"[#~]$", r"\.bak$", r"\.dpkg-(tmp|new|old|dist)$")
                         ) -> tuple[dict[str, Section], list[ParseProblem]]:
    """Every file of plugin-conf.d in sorted order, as munin-node reads them (names with odd
    characters and editor/package leftovers skipped)."""
    problems: list[ParseProblem] = []
    parsed: list[list[Section]] = []
    try:
        names = sorted(p.name for p in directory.iterdir() if p.is_file())
    except OSError as err:
        return {}, [ParseProblem(str(directory), None, f"cannot read the directory: {err.strerror}")]
    for name in names:
        if not _FILE_NAME.fullmatch(name) or any(re.search(rx, name) for rx in ignore):
            continue
        path = directory / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            problems.append(ParseProblem(str(path), None, f"cannot read: {err.strerror}"))
            continue
        sections, found = parse_plugin_conf(text, str(path))
        parsed.append(sections)
        problems.extend(found)
    return merge_sections(parsed), problems
