"""The public repositories under tests/fixtures/repos: copy one, break its named test, fix it.

The rehearsal tests (and the triage corpus) use the same break: a one-line edit recorded in
tests/fixtures/repos/index.yml, so the failing test and the error line are known in advance.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPOS = Path(__file__).parent / "fixtures" / "repos"


def index() -> dict:
    """Every fixture repository's entry in index.yml, by folder name."""
    return yaml.safe_load((REPOS / "index.yml").read_text())["repos"]


def copy_repo(name: str, target: Path) -> Path:
    """A fresh copy of fixture ``name`` under ``target`` (the fixture itself stays as is)."""
    dest = target / name
    shutil.copytree(REPOS / name, dest, ignore=shutil.ignore_patterns(
        "node_modules", "__pycache__", ".pytest_cache"))
    return dest


def _edit(repo: Path, name: str, old_key: str, new_key: str) -> None:
    entry = index()[name]["break"]
    path = repo / entry["file"]
    text = path.read_text()
    if entry[old_key] not in text:
        raise AssertionError(f"{name}: {entry['file']} does not hold {entry[old_key]!r}")
    path.write_text(text.replace(entry[old_key], entry[new_key], 1))


def break_repo(repo: Path, name: str) -> None:
    """Apply the recorded break: the named test fails from now on."""
    _edit(repo, name, "find", "replace")


def fix_repo(repo: Path, name: str) -> None:
    """Undo :func:`break_repo`: the suite passes again."""
    _edit(repo, name, "replace", "find")
