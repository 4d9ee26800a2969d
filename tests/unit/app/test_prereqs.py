"""make run's prerequisite check: what is missing is named with its fix, before any build."""

import subprocess
import sys
from pathlib import Path

from runbook_lib.app import prereqs

ROOT = Path(__file__).resolve().parents[3]


def _which(present):
    return lambda command: f"/usr/bin/{command}" if command in present else None


def test_everything_present_is_quiet():
    found = prereqs.check_tools(which=_which({"git", "node", "npm"}),
                                version_of=lambda c: "v20.11.1")
    assert found == []


def test_missing_node_and_npm_are_named_with_their_fix():
    found = prereqs.check_tools(which=_which({"git"}), version_of=lambda c: "")
    assert [m.what for m in found] == ["Node.js", "npm"]
    assert "npm ci" in found[0].why
    assert "apt-get install nodejs npm" in found[0].fix


def test_old_node_is_refused_with_the_version_seen():
    found = prereqs.check_tools(which=_which({"git", "node", "npm"}),
                                version_of=lambda c: "v14.21.3")
    assert [m.what for m in found] == ["Node.js 18+"]
    assert "v14.21.3" in found[0].why


def test_node_is_not_required_without_the_sample_app():
    assert prereqs.check_tools(sample_app=False, which=_which({"git"})) == []


def test_missing_git():
    found = prereqs.check_tools(sample_app=False, which=_which(set()))
    assert [m.what for m in found] == ["git"]


def test_old_python_names_the_version_and_the_make_variable():
    found = prereqs.check_python((3, 9, 18))
    assert found and "3.9.18" in found[0].why and "PYTHON=python3.11" in found[0].fix
    assert prereqs.check_python((3, 11, 0)) == []


def test_module_runs_with_the_system_python_before_any_install():
    """`make run` calls it before the virtualenv exists: stdlib only, no project imports."""
    done = subprocess.run([sys.executable, "-S", "-m", "runbook_lib.app.prereqs"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_runbook_run_refuses_before_any_notebook_when_node_is_missing(tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    (empty_bin / "git").symlink_to("/usr/bin/git")
    runbook = Path(sys.executable).parent / "runbook"
    done = subprocess.run([str(runbook), "run", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True,
                          env={"PATH": str(empty_bin), "HOME": str(tmp_path)})
    assert done.returncode == 1
    assert "Node.js" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
