"""The sample app's local repository and the commits of the canonical run."""

import shutil
import subprocess

import pytest

from runbook_lib.operate import sample_repo


def test_history_green_broken_fixed(tmp_path):
    repo = tmp_path / "sample-app"
    first = sample_repo.create_sample_repo(repo)
    assert first.message == "Add sample-app"
    assert sample_repo.create_sample_repo(repo) == first  # idempotent
    note = sample_repo.push_release_note(repo, "first release")
    broken = sample_repo.push_breaking_change(repo)
    fixed = sample_repo.push_fix(repo)
    assert len({first.sha, note.sha, broken.sha, fixed.sha}) == 4
    log = subprocess.run(["git", "log", "--format=%s", "main"], cwd=repo, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert log[:3] == ["Restore the greeting the tests expect", "Shorten the greeting to Hi",
                       "Release note: first release"]


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_the_breaking_change_really_breaks_a_test_and_the_fix_mends_it(tmp_path):
    repo = tmp_path / "app"
    sample_repo.create_sample_repo(repo)
    sample_repo.push_breaking_change(repo)
    broken = subprocess.run(["node", "--test"], cwd=repo, capture_output=True, text=True)
    assert broken.returncode != 0 and "greets by name" in broken.stdout
    sample_repo.push_fix(repo)
    assert subprocess.run(["node", "--test"], cwd=repo, capture_output=True).returncode == 0


def test_commits_on_another_branch_leave_main_alone(tmp_path):
    repo = tmp_path / "app"
    main = sample_repo.create_sample_repo(repo)
    other = sample_repo.push_release_note(repo, "experiment", branch="feature/x")
    assert other.branch == "feature/x"
    assert sample_repo.head(repo, "main") == main
