"""The sample app as a local git repository, and the commits the canonical run pushes.

On the local target a "push" is a commit on the watched branch of a registered repository: the
local AWS sees the new head and starts the pipeline as a GitHub push would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runbook_lib.core.errors import RunbookError

SAMPLE_APP_DIR = Path(__file__).resolve().parents[1] / "sample_app"
_GIT_ID = ["-c", "user.name=Pipeline Runbooks", "-c", "user.email=runbooks@example.com"]

# The source file the canonical history edits, and the edits it makes.
GREETING = Path("src/greeting.js")
_BREAK = ("return `Hello, ${", "return `Hi, ${")


FIXED_DATES_FROM = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def has_fixed_date(when: datetime) -> bool:
    """True for the sample history's fixed commit dates: lead times are timed from the push.

    Measured from those dates, a lead time is the age of the sample, not of a change.
    """
    return 0 <= (when - FIXED_DATES_FROM).total_seconds() < 3600 and when.second == 0


def _commit_dates(repo: Path) -> dict[str, str]:
    """Fixed dates, one minute apart per commit, so the canonical history has the same commit
    ids on every machine (the stored notebook outputs show them)."""
    count = subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo,
                           capture_output=True, text=True)
    n = int(count.stdout.strip() or 0) if count.returncode == 0 else 0
    stamp = (FIXED_DATES_FROM.replace(minute=n % 60)).isoformat()
    return {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    branch: str


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *_GIT_ID, *args], cwd=repo, capture_output=True, text=True,
                            env=_commit_dates(repo))
    if result.returncode != 0:
        raise RunbookError(f"git {' '.join(args)} in {repo} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def create_sample_repo(dest: Path, branch: str = "main") -> Commit:
    """A fresh repository holding the sample app, one commit on ``branch``."""
    dest = Path(dest)
    if (dest / ".git").exists():
        return head(dest, branch)
    shutil.copytree(SAMPLE_APP_DIR, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("node_modules", "dist", "__pycache__"))
    _git(dest, "init", "-q", "-b", branch)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "Add sample-app")
    return head(dest, branch)


def head(repo: Path, branch: str = "main") -> Commit:
    sha = _git(repo, "rev-parse", branch)
    message = _git(repo, "log", "-1", "--format=%s", sha)
    return Commit(sha, message, branch)


def commit_file(repo: Path, path: Path, text: str, message: str, branch: str = "main") -> Commit:
    """Write a file and commit it on ``branch`` (created from the current head if new)."""
    current = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    if current != branch:
        exists = subprocess.run(["git", "rev-parse", "--verify", "-q", branch], cwd=repo,
                                capture_output=True).returncode == 0
        _git(repo, "checkout", "-q", *(() if exists else ("-b",)), branch)
    (Path(repo) / path).write_text(text)
    _git(repo, "add", str(path))
    _git(repo, "commit", "-q", "-m", message)
    return head(repo, branch)


def push_release_note(repo: Path, note: str, branch: str = "main") -> Commit:
    """A harmless change: a line in the release notes."""
    notes = Path(repo) / "RELEASES.md"
    text = (notes.read_text() if notes.exists() else "# Releases\n\n") + f"- {note}\n"
    return commit_file(repo, Path("RELEASES.md"), text, f"Release note: {note}", branch)


def push_breaking_change(repo: Path, branch: str = "main") -> Commit:
    """Change the greeting so that the unit test 'greets by name' fails."""
    source = (Path(repo) / GREETING).read_text()
    if _BREAK[0] not in source:
        raise RunbookError(f"{GREETING} no longer holds {_BREAK[0]!r}; update sample_repo")
    return commit_file(repo, GREETING, source.replace(*_BREAK, 1),
                       "Shorten the greeting to Hi", branch)


def push_fix(repo: Path, branch: str = "main") -> Commit:
    """Restore the greeting the tests expect."""
    source = (Path(repo) / GREETING).read_text()
    return commit_file(repo, GREETING, source.replace(_BREAK[1], _BREAK[0], 1),
                       "Restore the greeting the tests expect", branch)
