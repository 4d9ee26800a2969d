"""The public repositories kept as rehearsal fixtures: each carries its licence, its source
and a valid buildspec, and its recorded break fails the named test while the fix restores it.

The offline ones (pytest, unittest, static site) really run their suites here; the Node one
needs `npm install` from the registry and is run by the end-to-end rehearsal instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fixture_repos
import pytest
import yaml

from runbook_lib.buildspec import lint

NAMES = sorted(fixture_repos.index())
OFFLINE = ["pytest-inflection", "static-h5bp", "unittest-idna"]


@pytest.mark.parametrize("name", NAMES)
def test_each_repo_has_licence_source_and_a_valid_buildspec(name):
    repo = fixture_repos.REPOS / name
    assert any(p.name.upper().startswith(("LICENSE", "COPYING")) for p in repo.iterdir())
    source = (repo / "SOURCE.md").read_text()
    assert "Repository: https://github.com/" in source and "## Adaptations" in source
    check = lint.check_file(repo / "buildspec.yml")
    assert check.spec is not None and check.ok, check.summary()


def _build_commands(repo: Path) -> list[str]:
    """The buildspec's commands, without the install phase (it downloads test tools)."""
    spec = yaml.safe_load((repo / "buildspec.yml").read_text())
    return [c for phase, body in spec["phases"].items() if phase != "install"
            for c in body["commands"]]


def _run(repo: Path, bin_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-ec", "\n".join(_build_commands(repo))], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", OFFLINE)
def test_break_fails_the_named_test_and_fix_restores_it(name, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)  # this venv has pytest
    entry = fixture_repos.index()[name]
    repo = fixture_repos.copy_repo(name, tmp_path)
    assert _run(repo, bin_dir).returncode == 0
    fixture_repos.break_repo(repo, name)
    broken = _run(repo, bin_dir)
    assert broken.returncode != 0
    assert entry["error_line"] in broken.stdout + broken.stderr
    if entry["failing_test"]:
        assert entry["failing_test"].split("::")[-1].split(".")[-1] in broken.stdout + \
            broken.stderr
    fixture_repos.fix_repo(repo, name)
    assert _run(repo, bin_dir).returncode == 0
