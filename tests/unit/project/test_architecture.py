"""The folders draw the layers: imports flow down, and no module-level import closes a cycle.

Read from the source with ``ast`` (nothing is imported), so a violation is found even in a
branch no test runs. The rules, as docs/ARCHITECTURE.md states them:

- ``core < buildspec < setup < operate < views < app``: a module imports only its own layer or
  lower ones, at module level or inside a function alike;
- ``local/*`` imports only ``core``, ``buildspec`` and ``local``; outside ``local`` only ``app``
  reaches into it, apart from the client-side modules in ``CLIENT_FACING``;
- the local service packages never import the dispatcher or the HTTP server;
- ``core`` is the ground floor: it imports no other layer and nothing of ``local``;
- no import cycle, whether its imports run at load time, inside a function (a deferred import
  only moves the cycle to the first call) or only for the type checker (``if TYPE_CHECKING:``:
  two modules that need each other's types are one module, or share a lower one).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "runbook_lib"
LAYERS = ("core", "buildspec", "setup", "operate", "views", "app")
LOCAL = f"{PACKAGE}.local"
LOCAL_MAY_IMPORT = ("core", "buildspec", "local")
# What a client of the local AWS (a session, a notebook, a command) may know of it: where its
# state folder is, whether it runs, its control API, its credentials.
CLIENT_FACING = {f"{LOCAL}.server.client"}
LOCAL_SERVICES = ("codebuild", "codepipeline", "events", "s3")
SERVER_ONLY = {f"{LOCAL}.server.dispatcher", f"{LOCAL}.server.server"}
@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    at_load: bool  # runs when the source module is loaded
    type_only: bool = False  # under ``if TYPE_CHECKING:``: never runs


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def find_modules(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


class _ImportCollector(ast.NodeVisitor):
    """Every import of the package, marked as run at load time or not."""

    def __init__(self, source: str, is_package: bool, modules: set[str]) -> None:
        self.source, self.is_package, self.modules = source, is_package, modules
        self.found: list[Import] = []
        self._deferred = 0  # inside a function or an ``if TYPE_CHECKING:`` block
        self._type_only = 0  # inside an ``if TYPE_CHECKING:`` block

    def _visit_deferred(self, node: ast.AST) -> None:
        self._deferred += 1
        self.generic_visit(node)
        self._deferred -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_deferred

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self._type_only += 1
            self._visit_deferred(node)
            self._type_only -= 1
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.source.split(".")[: None if self.is_package else -1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if candidate in self.modules else base, node.lineno)

    def _add(self, target: str, line: int) -> None:
        if target == PACKAGE or target.startswith(PACKAGE + "."):
            self.found.append(Import(self.source, target, line, self._deferred == 0,
                                     self._type_only > 0))


def collect_imports(modules: dict[str, Path]) -> list[Import]:
    found: list[Import] = []
    for name, path in modules.items():
        collector = _ImportCollector(name, path.name == "__init__.py", set(modules))
        collector.visit(ast.parse(path.read_text(), str(path)))
        found.extend(collector.found)
    return found


def _part(module: str, index: int) -> str | None:
    parts = module.split(".")
    return parts[index] if len(parts) > index else None


def violation(imp: Import) -> str | None:
    """Why this import breaks the layering, or None when it is allowed."""
    source_top, target_top = _part(imp.source, 1), _part(imp.target, 1)
    if source_top is None or target_top is None:
        return None  # the package's own __init__ holds no code
    if source_top == "local":
        if target_top not in LOCAL_MAY_IMPORT:
            return f"local imports {target_top} (local may import only {LOCAL_MAY_IMPORT})"
        if _part(imp.source, 2) in LOCAL_SERVICES and imp.target in SERVER_ONLY:
            return "a local service imports the server; use local.server.context"
        return None
    if target_top == "local":
        if source_top == "core":
            return "core is the ground floor: it reaches no higher layer, local included"
        if source_top == "app" or imp.target in CLIENT_FACING:
            return None
        return f"{source_top} reaches into the local AWS; use one of {sorted(CLIENT_FACING)}"
    if source_top in LAYERS and target_top in LAYERS:
        if LAYERS.index(target_top) > LAYERS.index(source_top):
            return f"{source_top} imports the higher layer {target_top}"
        return None
    return f"{imp.source} or {imp.target} is in no known layer {LAYERS}"


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components (more than one module) of the import graph: imports at
    load time, inside functions and under ``if TYPE_CHECKING:`` alike."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graph is small, recursion is fine
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
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return collect_imports(find_modules(ROOT))


def test_the_checker_reads_the_whole_package(imports):
    modules = find_modules(ROOT)
    assert len(modules) > 60
    assert {m.split(".")[1] for m in modules if m.count(".") >= 1} >= {*LAYERS, "local"}
    assert len(imports) > 150


def test_imports_follow_the_layers(imports):
    broken = [f"{i.source}:{i.line} imports {i.target}: {why}"
              for i in imports if (why := violation(i))]
    assert broken == [], "\n".join(broken)


def test_no_import_cycles(imports):
    """No cycle, whether its imports run at load time, inside a function or only for types."""
    cycles = import_cycles(imports)
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(("source", "target", "allowed"), [
    ("runbook_lib.setup.iam", "runbook_lib.core.params", True),
    ("runbook_lib.operate.rollback", "runbook_lib.setup.deploy_actions", True),
    ("runbook_lib.setup.config_store", "runbook_lib.views.nb", False),
    ("runbook_lib.core.session", "runbook_lib.local.server.client", False),
    ("runbook_lib.core.session", "runbook_lib.local.server.process", False),
    ("runbook_lib.core.params", "runbook_lib.local.server.client", False),
    ("runbook_lib.operate.history", "runbook_lib.local.codepipeline.repos", False),
    ("runbook_lib.app.cli", "runbook_lib.local.server.server", True),
    ("runbook_lib.local.codebuild.source", "runbook_lib.buildspec.model", True),
    ("runbook_lib.local.codebuild.builds", "runbook_lib.setup.codebuild", False),
    ("runbook_lib.local.events.bus", "runbook_lib.local.server.dispatcher", False),
    ("runbook_lib.local.events.bus", "runbook_lib.local.server.context", True),
    ("runbook_lib.local.server.dispatcher", "runbook_lib.local.events.bus", True),
], ids=lambda v: v if isinstance(v, str) else None)
def test_layer_rule_cases(source, target, allowed):
    assert (violation(Import(source, target, 1, True)) is None) is allowed


@pytest.mark.parametrize(("edges", "expected"), [
    ([("a", "b"), ("b", "c")], []),
    ([("a", "b"), ("b", "a")], [["a", "b"]]),
    ([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")], [["a", "b", "c"]]),
], ids=["chain", "pair", "triangle"])
def test_cycle_finder_cases(edges, expected):
    assert import_cycles([Import(s, t, 1, True) for s, t in edges]) == expected


def test_a_function_level_import_closes_a_cycle():
    deferred = [Import("a", "b", 1, True), Import("b", "a", 1, False)]
    assert import_cycles(deferred) == [["a", "b"]]


def test_a_type_only_import_closes_a_cycle():
    typed = [Import("a", "b", 1, True), Import("b", "a", 1, False, type_only=True)]
    assert import_cycles(typed) == [["a", "b"]]


def test_function_and_type_checking_imports_are_deferred(tmp_path):
    for module in ("core/y.py", "views/nb.py", "app/cli.py"):
        (tmp_path / PACKAGE / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / PACKAGE / module).write_text("")
    (tmp_path / PACKAGE / "core" / "x.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from runbook_lib.core import y\n"
        "if TYPE_CHECKING:\n    from runbook_lib.views import nb\n"
        "def f():\n    from runbook_lib.app import cli\n")
    found = {(i.target, i.at_load, i.type_only)
             for i in collect_imports(find_modules(tmp_path))}
    assert found == {("runbook_lib.core.y", True, False), ("runbook_lib.views.nb", False, True),
                     ("runbook_lib.app.cli", False, False)}


# -- docs/ARCHITECTURE.md matches the tree ------------------------------------------------------

ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
# Files the worked examples invent: they show where new code would go.
EXAMPLE_FILES = {"runbook_lib/setup/dashboard.py", "notebooks/src/09_dashboard.py",
                 "tests/integration/setup/test_dashboard.py"}


def _mentioned_paths(text: str) -> set[str]:
    import re

    return set(re.findall(r"`([\w/]+\.py)`", text)) - EXAMPLE_FILES


def _exists(path: str) -> bool:
    """A path from the repository or the package root; a bare module name anywhere in the
    package (the package paragraphs name their modules so)."""
    if "/" not in path:
        return any((ROOT / PACKAGE).rglob(path))
    return any((base / path).is_file() for base in (ROOT, ROOT / PACKAGE))


def test_architecture_doc_names_only_files_that_exist():
    missing = sorted(p for p in _mentioned_paths(ARCHITECTURE.read_text()) if not _exists(p))
    assert missing == []


def test_architecture_doc_describes_every_package():
    text = ARCHITECTURE.read_text()
    packages = {p.parent.relative_to(ROOT / PACKAGE).as_posix()
                for p in (ROOT / PACKAGE).glob("*/__init__.py")}
    packages |= {p.parent.relative_to(ROOT / PACKAGE).as_posix()
                 for p in (ROOT / PACKAGE / "local").glob("*/__init__.py")}
    undocumented = sorted(p for p in packages
                          if f"`{p}/`" not in text and f"`{p.split('/')[-1]}/`" not in text)
    assert undocumented == []


def test_architecture_doc_names_every_module():
    """A newcomer finds every module in the package paragraphs (by name, or by path)."""
    text = ARCHITECTURE.read_text()
    unnamed = sorted(
        name for name, path in find_modules(ROOT).items() if path.name != "__init__.py"
        and not any(f"`{form}`" in text or f"/{path.name}`" in text
                    for form in (path.stem, path.name, f"{path.stem}/")))
    assert unnamed == []

