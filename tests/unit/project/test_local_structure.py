"""The embedded local AWS stays a tree: no import cycle under ``runbook_lib/local``, ``core``
never reaching up into it, and no module or function past the house's size limits.

Stricter than tests/unit/project/test_architecture.py on purpose: every import counts, at
module level, inside a function or under ``if TYPE_CHECKING:``, so a cycle cannot hide in a
deferred import.
Read from the source with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "runbook_lib"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 45


def _modules(base: Path) -> dict[str, Path]:
    """The package's modules by dotted name; ``base`` holds the ``runbook_lib`` folder."""
    names = {}
    for path in sorted((base / "runbook_lib").rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _targets(name: str, path: Path, known: set[str]) -> set[str]:
    """Every runbook_lib module ``name`` imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")[: None if path.name == "__init__.py" else -1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {t for t in found if t.split(".")[0] == "runbook_lib"}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    known = set(modules)
    return {name: _targets(name, path, known) - {name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(_modules(ROOT))


def test_the_graph_covers_the_local_aws(graph):
    local = [m for m in graph if m.startswith("runbook_lib.local.")]
    assert len(local) > 100
    assert "runbook_lib.local.server.context" in graph["runbook_lib.local.server.dispatcher"]


def test_no_import_cycle_under_local(graph):
    local = {m: {t for t in targets if t.startswith("runbook_lib.local")}
             for m, targets in graph.items() if m.startswith("runbook_lib.local")}
    assert cycles(local) == []


def test_core_never_imports_local(graph):
    upward = sorted(f"{m} imports {t}" for m, targets in graph.items()
                    if m.startswith("runbook_lib.core") for t in targets
                    if t.startswith("runbook_lib.local"))
    assert upward == [], "\n".join(upward)


@pytest.mark.parametrize(("edges", "expected"), [
    ({"a": {"b"}, "b": {"c"}}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
], ids=["chain", "pair", "triangle", "two pairs"])
def test_cycle_finder_cases(edges, expected):
    assert sorted(cycles(edges)) == expected


def test_function_and_type_checking_imports_are_read(tmp_path):
    package = tmp_path / "runbook_lib" / "local"
    package.mkdir(parents=True)
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from runbook_lib.local import b\n"
        "def f():\n    from . import c\n")
    (package / "b.py").write_text("")
    (package / "c.py").write_text("def g():\n    import runbook_lib.local.a\n")
    graph = import_graph(_modules(tmp_path))
    assert graph["runbook_lib.local.a"] == {"runbook_lib.local.b", "runbook_lib.local.c"}
    assert cycles(graph) == [["runbook_lib.local.a", "runbook_lib.local.c"]]


def _oversized(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size}")
    return found


def test_local_modules_and_functions_stay_small():
    oversized = _oversized(PACKAGE / "local")
    assert oversized == [], ("split these (modules <= 400 lines, functions <= 45):\n"
                             + "\n".join(oversized))
