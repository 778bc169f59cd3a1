"""The layout is the map: no import cycles, and each folder imports only what
docs/architecture.md says it may (function-level imports count too)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
LEAVES = {"records", "probe", "service", "config", "inventory", "redact", "statefiles", "fsutil", "roots"}
# Besides the leaves: which top-level rooms (or sub-rooms, "postgres.log") a room may import.
ALLOWED: dict[str, set[str]] = {
    "system": set(),
    "raid": {"remote", "disks", "alerts"},
    "postgres": {"remote", "system"},
    "guard": {"postgres.log", "postgres.files"},
    "audit": {"postgres.files", "network"},
    "store": set(),
    "alerts": set(),
    "network": {"system"},
    "remote": set(),
    "environment": {"system", "postgres"},
    "disks": {"environment"},
    "lifecycle": {"environment", "postgres"},
    "ups": {"environment"},
    "capacity": {"environment", "postgres"},
    "munin": {"store", "alerts"},
    "web": {"store", "alerts", "guard", "audit", "raid", "postgres", "catalog", "system", "network",
            "environment", "munin"},
}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in (SRC / "yamori").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imports() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
                targets = subs if subs and len(subs) == len(node.names) else [target, *subs]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_import_cycles() -> None:
    assert _cycles(_imports()) == []


def test_rooms_import_only_what_the_map_allows() -> None:
    wrong = []
    for source, targets in _imports().items():
        room = _room(source)
        if room not in ALLOWED:
            continue   # cli, agent, catalog, check and the leaves' own rules below
        for target in targets:
            other = _room(target)
            if other == room or other in LEAVES or other == "yamori":
                continue
            sub = ".".join(target.split(".")[1:3])
            if other in ALLOWED[room] or sub in ALLOWED[room]:
                continue
            wrong.append(f"{source} imports {target}")
    assert wrong == []


def test_leaves_import_no_domain() -> None:
    wrong = [f"{s} imports {t}" for s, targets in _imports().items() if _room(s) in LEAVES
             for t in targets if _room(t) not in LEAVES and _room(t) != "yamori"]
    assert wrong == []
