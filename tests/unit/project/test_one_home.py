"""Every name has one home: no module passes on a name it only imports.

When a module splits, its importers move to the new home; a shim that re-exports the moved names
leaves two spellings of one thing, and a reader cannot tell which module owns it. Read with
``ast`` (nothing is imported), over everything that imports ``runbook_lib``.

Two checks:

- *producer*: a module of ``runbook_lib`` imports a name from another ``runbook_lib`` module and
  never uses it itself (kept only for others to import: a re-export);
- *consumer*: a file takes a name from a ``runbook_lib`` module that only imports it
  (``from runbook_lib.operate.executions import read_state``, or ``executions.read_state``),
  although the module uses it itself.

Decision: a package ``__init__.py`` may collect names on purpose, and only those listed in its
``__all__`` (its deliberate public face); no package does so today outside ``local/``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "runbook_lib"
# Where code importing runbook_lib lives.
IMPORTERS = ("runbook_lib", "tests", "notebooks/src", "tools", "benchmarks")
# Modules allowed to pass names on (none: a package's __init__ may, through __all__ only).
ALLOWED_PREFIXES: tuple[str, ...] = ()


@dataclass
class ModuleNames:
    """What a module owns (defines) and what it only imports, at module level."""

    defined: set[str] = field(default_factory=set)
    imported: dict[str, int] = field(default_factory=dict)  # name -> line, from runbook_lib
    foreign: set[str] = field(default_factory=set)  # imported from elsewhere
    used: set[str] = field(default_factory=set)
    exported: set[str] = field(default_factory=set)  # __all__
    is_package: bool = False

    def collects(self, name: str) -> bool:
        """A package's ``__init__`` collecting ``name`` on purpose (in its ``__all__``)."""
        return self.is_package and name in self.exported


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")[: None if is_package else -1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """Module-level statements, looking into ``if``/``try`` blocks (TYPE_CHECKING and the like)."""
    out: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        out.append(node)
        if isinstance(node, ast.If):
            todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody
                        + [s for h in node.handlers for s in h.body])
    return out


def _targets(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def read_module(path: Path, modules: set[str]) -> ModuleNames:
    name, tree = module_name(path), ast.parse(path.read_text(), str(path))
    names = ModuleNames(is_package=path.name == "__init__.py")
    for node in _top_level(tree):
        names.defined |= _targets(node)
        if isinstance(node, ast.Import):
            names.foreign |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, path.name == "__init__.py", node)
            for alias in node.names:
                local = alias.asname or alias.name
                if base.startswith(PACKAGE) and f"{base}.{alias.name}" not in modules:
                    names.imported[local] = node.lineno
                else:
                    names.foreign.add(local)
        if isinstance(node, ast.Assign) and "__all__" in _targets(node):
            names.exported = {e.value for e in ast.walk(node.value)
                              if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.used.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names.used.add(node.value.id)
    return names


@pytest.fixture(scope="module")
def package() -> dict[str, ModuleNames]:
    paths = sorted((ROOT / PACKAGE).rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): read_module(p, modules) for p in paths}


def _allowed(module: str) -> bool:
    return module.startswith(ALLOWED_PREFIXES)


def producer_reexports(package: dict[str, ModuleNames]) -> list[str]:
    """Names a module imports from runbook_lib and does not use: kept for others."""
    found = []
    for module, names in sorted(package.items()):
        for name, line in sorted(names.imported.items()):
            if names.collects(name):
                continue
            if name not in names.used or name in names.exported:
                found.append(f"{module}:{line} re-exports {name}")
    return found


def _module_aliases(tree: ast.AST, source: str, is_package: bool,
                    package: dict[str, ModuleNames]) -> dict[str, str]:
    """Local names bound to a runbook_lib module anywhere in the file."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in package:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(source, is_package, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in package:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def consumer_detours(path: Path, package: dict[str, ModuleNames]) -> list[str]:
    """Where a file takes a name from a module that only imports it."""
    source = module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    aliases = _module_aliases(tree, source, is_package, package)
    found = []

    def check(module: str, name: str, line: int) -> None:
        owner = package.get(module)
        if owner and name in owner.imported and name not in owner.defined \
                and not owner.collects(name) and not _allowed(module) \
                and not _allowed(source + "."):
            found.append(f"{path.relative_to(ROOT)}:{line} takes {name} from {module}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(source, is_package, node)
            for alias in node.names:
                check(base, alias.name, node.lineno)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases:
            check(aliases[node.value.id], node.attr, node.lineno)
    return found


def importer_files() -> list[Path]:
    return sorted(p for where in IMPORTERS for p in (ROOT / where).rglob("*.py")
                  if ".venv" not in p.parts)


def test_the_reader_sees_the_package(package):
    assert len(package) > 100
    executions = package[f"{PACKAGE}.operate.executions"]
    assert "wait_for_execution" in executions.defined
    assert "AwsSession" in executions.imported


def test_no_module_reexports_what_it_imports(package):
    found = [f for f in producer_reexports(package) if not _allowed(f.split(":")[0] + ".")]
    assert found == [], "\n".join(found)


def test_every_name_is_imported_from_its_home(package):
    found = [f for p in importer_files() for f in consumer_detours(p, package)]
    assert found == [], "\n".join(found)


def test_the_checks_catch_a_shim(tmp_path, monkeypatch):
    """A module that re-exports, and a file that takes a name through it, are both found."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    pkg = tmp_path / PACKAGE / "core"
    pkg.mkdir(parents=True)
    (tmp_path / PACKAGE / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from runbook_lib.core.home import thing\n"
                                     "__all__ = ['thing']\n")  # collected on purpose
    (pkg / "home.py").write_text("def thing():\n    return 1\n")
    (pkg / "shim.py").write_text("from runbook_lib.core.home import thing  # noqa: F401\n"
                                 "def other():\n    return 2\n")
    (pkg / "listed.py").write_text("from .home import thing\n__all__ = ['thing']\n")
    (pkg / "user.py").write_text("from runbook_lib.core import shim, thing as same\n"
                                 "from runbook_lib.core.shim import thing\n"
                                 "print(shim.thing, shim.other, thing, same)\n")
    paths = sorted((tmp_path / PACKAGE).rglob("*.py"))
    modules = {module_name(p) for p in paths}
    package = {module_name(p): read_module(p, modules) for p in paths}
    assert producer_reexports(package) == [f"{PACKAGE}.core.listed:1 re-exports thing",
                                           f"{PACKAGE}.core.shim:1 re-exports thing"]
    found = consumer_detours(pkg / "user.py", package)
    assert found == [f"{PACKAGE}/core/user.py:2 takes thing from {PACKAGE}.core.shim",
                     f"{PACKAGE}/core/user.py:3 takes thing from {PACKAGE}.core.shim"]
