"""Map TOML key paths to the line they were written on.

Neither tomllib nor tomlkit keeps positions, so validation errors would otherwise say only
*which* key is wrong, not *where*. This scanner follows table headers (``[a.b]``,
``[[a.b]]`` with its running index) and ``key = value`` lines, which is all a config file
written by a person uses. Multi-line values are attributed to their first line.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")

Path = tuple[str | int, ...]


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', text)
    return tuple(a or b or c for a, b, c in parts)


def key_lines(text: str) -> dict[Path, int]:
    """Return {key path: 1-based line}; array-of-tables entries get their index."""
    lines: dict[Path, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    current: Path = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _split_dotted(header.group(2))
            if header.group(1) == "[[":
                index = array_counts.get(names, -1) + 1
                array_counts[names] = index
                # nested arrays of a new parent start over
                for key in list(array_counts):
                    if len(key) > len(names) and key[: len(names)] == names:
                        del array_counts[key]
                current = (*_with_indices(names, array_counts), index)
            else:
                current = _with_indices(names, array_counts)
            lines.setdefault(current, number)
            continue
        assignment = _KEY.match(line)
        if assignment:
            path = (*current, *_split_dotted(assignment.group(1)))
            lines.setdefault(path, number)
            rest = line[assignment.end():]
            if rest.count('"""') == 1 or rest.count("'''") == 1:
                in_multiline = True
    return lines


def _with_indices(names: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> Path:
    """Insert the current index of every enclosing array of tables into a dotted name."""
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        prefix = names[: i + 1]
        if prefix in counts and i < len(names) - 1:
            path.append(counts[prefix])
    return tuple(path)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest enclosing key that has one."""
    probe = tuple(path)
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe[:-1]
    return None
