"""The local AWS talks to moto only through its public server entry point and the wire protocol.

Importing moto's models or backends would tie the extensions to moto's internals, which change
between releases; this test keeps the boundary where DESIGN.md puts it.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "runbook_lib"
ALLOWED = {"moto.server"}


def test_only_moto_server_is_imported():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
                if node.module not in ALLOWED:
                    offenders.append(f"{path.relative_to(PACKAGE)}: from {node.module} import")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "moto" and alias.name not in ALLOWED:
                        offenders.append(f"{path.relative_to(PACKAGE)}: import {alias.name}")
    assert offenders == []
    assert any("moto.server" in p.read_text() for p in PACKAGE.rglob("*.py"))
