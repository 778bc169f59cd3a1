"""Issue 8/9: the PostgreSQL log reader's modules import each other without a cycle, counting
imports inside functions too (only `if TYPE_CHECKING:` blocks, never run, are left out)."""

from __future__ import annotations

import ast
from pathlib import Path

import yamori.postgres.log as package

HERE = Path(package.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module:
            out.add(node.module.split(".")[0])
        else:
            out |= {a.name for a in node.names}
    return out


def test_no_import_cycle_in_the_log_reader() -> None:
    graph = {p.stem: _imports(p) & {q.stem for q in HERE.glob("*.py")} for p in HERE.glob("*.py")}
    assert graph["read"] and graph["stderr"]   # (the graph is really read)

    def visit(node: str, path: list[str]) -> None:
        assert node not in path, f"import cycle: {' -> '.join([*path, node])}"
        for nxt in graph.get(node, ()):
            visit(nxt, [*path, node])

    for module in graph:
        visit(module, [])
