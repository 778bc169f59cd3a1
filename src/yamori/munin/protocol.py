"""The Munin plugin protocol: what `plugin config` and `plugin` (fetch) print. Pure.

`parse_config(text, source)` -> graphs (one per `multigraph` section, the first named after
the plugin) with their fields; `parse_fetch(text, source)` -> values per graph and field.
Both are tolerant: a line they cannot read becomes a ParseProblem naming `source` (the
plugin and the command) and the line of the output, and the rest is still used.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..records import ParseProblem

TYPES = ("GAUGE", "COUNTER", "DERIVE", "ABSOLUTE")
MAX_FIELDS = 1000
"""Fields one plugin may declare: each is a series in the store, and a runaway plugin must not
create a million of them."""
_ATTR = re.compile(r"([^\s.]+)\.(\w+)\s+(.*)")
_GRAPH = re.compile(r"(graph(?:_\w+)?)\s+(.*)")
_GRAPH_KEYS = {"graph_title": "title", "graph_vlabel": "vlabel", "graph_category": "category",
               "graph_args": "args", "graph_order": "order"}
_FIELD_KEYS = ("label", "type", "min", "max", "warning", "critical", "cdef", "negative", "graph",
               "draw", "info", "colour", "line", "stack", "sum", "extinfo", "unknown_limit", "update_rate")


@dataclass(frozen=True, slots=True)
class Range:
    """A Munin `warning`/`critical` value: `max`, `min:max`, `:max` or `min:` (either open)."""

    low: float | None
    high: float | None

    def text(self) -> str:
        low = "" if self.low is None else f"{self.low:g}"
        high = "" if self.high is None else f"{self.high:g}"
        return f"{low}:{high}"


@dataclass(slots=True)
class Field:
    name: str
    label: str = ""
    type: str = "GAUGE"
    min: float | None = None
    max: float | None = None
    warning: Range | None = None
    critical: Range | None = None
    cdef: str = ""
    negative: str = ""
    graph: bool = True


@dataclass(slots=True)
class Graph:
    """One graph of a plugin: `name` is the plugin name, or the multigraph name."""

    name: str
    title: str = ""
    vlabel: str = ""
    category: str = "other"
    args: str = ""
    order: str = ""
    fields: dict[str, Field] = field(default_factory=dict)


def clean_name(name: str) -> str:
    """Munin's clean_fieldname: characters outside [A-Za-z0-9_] become `_`, and so does a
    leading digit (the names munin-update gives its RRD files)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return "_" + name[1:] if name[:1].isdigit() else name


def parse_range(text: str) -> Range | None:
    """`10`, `:10`, `10:`, `5:10` -> Range; None when it is not one."""
    low_text, sep, high_text = text.strip().partition(":")
    if not sep:
        low_text, high_text = "", low_text
    try:
        low = float(low_text) if low_text.strip() else None
        high = float(high_text) if high_text.strip() else None
    except ValueError:
        return None
    if low is None and high is None:
        return None
    return Range(low, high)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# -- config --------------------------------------------------------------------------------


def parse_config(text: str, plugin: str, source: str = "") -> tuple[list[Graph], list[ParseProblem]]:
    source = source or f"{plugin} config"
    graphs = [Graph(plugin)]
    problems: list[ParseProblem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("multigraph "):
            name = line.split(None, 1)[1].strip()
            if not re.fullmatch(r"[\w.:-]+", name):
                problems.append(ParseProblem(source, number, f"multigraph: bad name {name[:60]!r}"))
                continue
            graphs.append(Graph(name))
            continue
        problem = _config_line(graphs[-1], line)
        if problem:
            problems.append(ParseProblem(source, number, problem))
    return [g for g in graphs if g.fields], problems


def _config_line(graph: Graph, line: str) -> str | None:
    match = _GRAPH.fullmatch(line)
    if match:
        key = _GRAPH_KEYS.get(match.group(1))
        if key:
            setattr(graph, key, match.group(2).strip())
        return None  # other graph_* settings (graph_info, graph_scale...) do not change values
    match = _ATTR.fullmatch(line)
    if not match:
        return f"not 'field.attribute value' nor 'graph_* value': {line[:80]!r}"
    name, attr, value = clean_name(match.group(1)), match.group(2), match.group(3).strip()
    if attr not in _FIELD_KEYS:
        return f"{name}.{attr}: unknown field attribute"
    if name not in graph.fields and len(graph.fields) >= MAX_FIELDS:
        return f"{name}: more than {MAX_FIELDS} fields in one graph, ignored"
    target = graph.fields.setdefault(name, Field(name))
    return _set_attr(target, attr, value)


def _set_attr(target: Field, attr: str, value: str) -> str | None:
    if attr == "label":
        target.label = value
    elif attr == "type":
        if value.upper() not in TYPES:
            return f"{target.name}.type: {value[:20]!r} is not one of {', '.join(TYPES)}"
        target.type = value.upper()
    elif attr in ("min", "max"):
        number = _number(value)
        if number is None and value not in ("U", ""):
            return f"{target.name}.{attr}: {value[:20]!r} is not a number"
        setattr(target, attr, number)
    elif attr in ("warning", "critical"):
        parsed = parse_range(value)
        if parsed is None:
            return f"{target.name}.{attr}: {value[:30]!r} is not a range (max, min:max, :max, min:)"
        setattr(target, attr, parsed)
    elif attr == "cdef":
        target.cdef = value
    elif attr == "negative":
        target.negative = clean_name(value)
    elif attr == "graph":
        target.graph = value.lower() not in ("no", "false", "off", "0")
    return None


# -- fetch ---------------------------------------------------------------------------------


Values = dict[str, dict[str, float | None]]
"""graph name -> field name -> value (None = `U`, unknown)."""

_VALUE = re.compile(r"([^\s.]+)\.value\s+(\S+)")


def parse_fetch(text: str, plugin: str, source: str = "") -> tuple[Values, list[ParseProblem]]:
    source = source or f"{plugin} fetch"
    values: Values = {}
    current = plugin
    problems: list[ParseProblem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("multigraph "):
            current = line.split(None, 1)[1].strip()
            continue
        match = _VALUE.fullmatch(line)
        if not match:
            if re.fullmatch(r"[^\s.]+\.extinfo\s.*", line):
                continue
            problems.append(ParseProblem(source, number, f"not 'field.value N': {line[:80]!r}"))
            continue
        name, text_value = clean_name(match.group(1)), match.group(2)
        if ":" in text_value:  # `epoch:value`, as munin-async and dirty plugins print it
            text_value = text_value.split(":", 1)[1]
        value = None if text_value == "U" else _number(text_value)
        if value is None and text_value != "U":
            problems.append(ParseProblem(source, number, f"{name}.value: {text_value[:30]!r} is not a number or U"))
            continue
        values.setdefault(current, {})[name] = value
    return values, problems
