"""The public repositories kept as rehearsal fixtures: each carries its licence, its source
and a valid buildspec, and its recorded break fails the named test while the fix restores it.

The offline ones (pytest, unittest, static site) really run their suites here; the Node ones
need their devDependencies from the npm registry and are run by the end-to-end rehearsal
(tests/e2e/test_real_repos.py): here their break, lockfile and buildspec are checked offline.
"""

from __future__ import annotations

import json
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
LOCKED = [n for n in NAMES if (fixture_repos.REPOS / n / "package-lock.json").exists()]
# The kinds issue 16 asks to rehearse ("Done when"), each by at least one fixture.
KINDS = ("python-pytest", "python-unittest", "node-jest", "node-mocha", "static-site", "docker")


def test_the_fixtures_cover_every_kind_the_issue_asks_for():
    kinds = [entry["kind"] for entry in fixture_repos.index().values()]
    missing = [k for k in KINDS if not any(kind.startswith(k) for kind in kinds)]
    assert not missing, f"no fixture repository of kind {missing}"


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
    # No bytecode caches in the copy: a break and its fix are edits of the same length within
    # a second, so a cache of the broken test (pytest's rewritten asserts) would pass for the
    # fixed one. A build never meets that: it starts from a fresh checkout.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONDONTWRITEBYTECODE": "1"}
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


@pytest.mark.parametrize("name", NAMES)
def test_the_break_edits_one_place_and_the_fix_restores_the_file(name, tmp_path):
    entry = fixture_repos.index()[name]["break"]
    repo = fixture_repos.copy_repo(name, tmp_path)
    original = (repo / entry["file"]).read_bytes()
    assert original.decode().count(entry["find"]) == 1
    assert entry["replace"] not in original.decode()
    fixture_repos.break_repo(repo, name)
    assert (repo / entry["file"]).read_bytes() != original
    with pytest.raises(AssertionError, match="does not hold"):
        fixture_repos.break_repo(repo, name)
    fixture_repos.fix_repo(repo, name)
    assert (repo / entry["file"]).read_bytes() == original


@pytest.mark.parametrize("name", LOCKED)
def test_locked_node_repos_install_exactly_what_package_json_asks(name):
    """`npm ci` refuses a lockfile that disagrees with package.json, and a `prepare` script
    would rebuild (or delete) the published files the tests run against."""
    repo = fixture_repos.REPOS / name
    package = json.loads((repo / "package.json").read_text())
    root = json.loads((repo / "package-lock.json").read_text())["packages"][""]
    for field in ("dependencies", "devDependencies"):
        assert root.get(field, {}) == package.get(field, {}), field
    assert not {"prepare", "preinstall", "install", "postinstall"} & set(package["scripts"])
    install = yaml.safe_load((repo / "buildspec.yml").read_text())["phases"]["install"]
    assert any(c.startswith("npm ci") for c in install["commands"])
    assert not (repo / "node_modules").exists()


def _docker_repos() -> list[str]:
    return [n for n, e in fixture_repos.index().items() if e["kind"].startswith("docker")]


@pytest.mark.parametrize("name", _docker_repos())
def test_docker_repo_builds_its_image_only_where_an_engine_answers(name, tmp_path):
    """The local AWS has no Docker daemon: the build step says the image build is skipped
    (and a real engine would build it); nothing is ever pushed."""
    repo = fixture_repos.REPOS / name
    assert (repo / "Dockerfile").read_text().startswith("FROM ")
    commands = _build_commands(repo)
    assert not any("docker push" in c or "docker login" in c for c in commands)
    guard = next(c for c in commands if "docker build" in c)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for answer, expected in ((1, "the image build is skipped"), (0, "built: build")):
        fake = bin_dir / "docker"
        fake.write_text(f"#!/bin/sh\n[ \"$1\" = info ] && exit {answer}\necho built: \"$@\"\n")
        fake.chmod(0o755)
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(["bash", "-ec", guard], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and expected in done.stdout, done.stdout + done.stderr
