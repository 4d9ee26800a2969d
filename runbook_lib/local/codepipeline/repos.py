"""Local git repositories registered under a repository id, standing in for GitHub/CodeCommit.

A CodeConnections source names ``FullRepositoryId`` (``acme/sample-app``) and a CodeCommit
source names ``RepositoryName``; on the local AWS both resolve through this registry to a folder
on disk. The registry is one JSON file in the state directory, written by ``runbook local repo``
whether or not a server runs, and re-read by the server whenever the file changes. Git is read
with the ``git`` command (plumbing only), never written.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core.errors import RunbookError
from runbook_lib.local.safe_paths import UnsafePathError, refuse_state_folder
from runbook_lib.local.server.store import StoreWriteError, write_atomic

REGISTRY_FILE = "repos.json"
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100})?$")
_SHA_RE = re.compile(r"^[0-9a-fA-F]{4,64}$")
_GIT_TIMEOUT = 120


class RepositoryError(RunbookError):
    """A repository id or folder cannot be used as a local source; the message names the fix."""


@dataclass(frozen=True)
class CommitInfo:
    """What a source action reports of a commit: dates are epoch seconds."""

    sha: str
    author_date: float
    committer_date: float
    author_name: str
    message: str


@dataclass(frozen=True)
class RegisteredRepo:
    """One registry entry: a repository id and the folder that holds it."""

    repo_id: str
    path: str
    added: float

    def git(self) -> GitRepo:
        return GitRepo(Path(self.path))


@dataclass(frozen=True)
class RepoListing:
    """A row of ``runbook local repo list``; ``problem`` is set when the folder is unusable."""

    repo_id: str
    path: str
    default_branch: str | None
    head: str | None
    problem: str | None = None


class GitRepo:
    """Read-only access to one git repository (work tree or bare) through the git command."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _run(self, *args: str, check: bool = True, binary: bool = False):
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        try:
            result = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                                    timeout=_GIT_TIMEOUT, env=env, check=False)
        except FileNotFoundError as err:
            raise RepositoryError("the git command was not found; install git") from err
        if check and result.returncode != 0:
            raise RepositoryError(f"git {args[0]} in {self.path}: "
                                  f"{result.stderr.decode(errors='replace').strip()}")
        if result.returncode != 0:
            return None
        return result.stdout if binary else result.stdout.decode(errors="replace")

    def refs(self) -> dict[str, str]:
        """Every branch and tag as ``{"refs/heads/main": sha}``; tags peeled to their commit."""
        out = self._run("for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)",
                        "refs/heads", "refs/tags")
        refs = {}
        for line in out.splitlines():
            name, obj, peeled = line.split("\0")
            refs[name] = peeled or obj
        return refs

    def branch_head(self, branch: str) -> str | None:
        out = self._run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
                        check=False)
        return out.strip() if out else None

    def default_branch(self) -> str | None:
        """The branch HEAD names: a bare repository's default branch, a work tree's current one."""
        out = self._run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return out.strip() if out else None

    def resolve_commit(self, commit_id: str) -> str | None:
        """The full id of a commit named by a (possibly abbreviated) hex id; None when absent."""
        if not _SHA_RE.match(commit_id or ""):
            return None
        out = self._run("rev-parse", "--verify", "--quiet", f"{commit_id}^{{commit}}",
                        check=False)
        return out.strip() if out else None

    def commit_info(self, sha: str) -> CommitInfo:
        out = self._run("show", "-s", "--format=%H%x00%at%x00%ct%x00%an%x00%B", sha, "--")
        full, author_date, committer_date, author, message = out.split("\0", 4)
        return CommitInfo(full, float(author_date), float(committer_date), author,
                          message.strip())

    def archive_zip(self, sha: str) -> bytes:
        """The commit's tree as a zip, as a source provider's CODE_ZIP (no ``.git``)."""
        return self._run("archive", "--format=zip", sha, binary=True)

    def changed_files(self, old: str | None, new: str) -> list[str]:
        """Files a push changed: between the old and new head, or the new commit's own
        changes when the ref is new."""
        if old:
            out = self._run("diff", "--name-only", "--no-renames", old, new, "--")
        else:
            out = self._run("diff-tree", "--no-commit-id", "--name-only", "--no-renames", "-r",
                            "--root", new)
        return [line for line in out.splitlines() if line]


def check_git_repository(path: Path) -> None:
    """Refuse anything but the top of a git work tree or a bare repository."""
    path = Path(path)
    if not path.is_absolute():
        raise RepositoryError(f"{path} is not an absolute path; pass the full path of the "
                              "repository folder")
    if not path.is_dir():
        raise RepositoryError(f"{path} is not a folder; pass the folder of a git repository "
                              "(create one with `git init`)")
    git = GitRepo(path)
    bare = git._run("rev-parse", "--is-bare-repository", check=False)
    if bare is None:
        raise RepositoryError(f"{path} is not a git repository; run `git init` there or pass "
                              "the folder of an existing repository")
    if bare.strip() == "true":
        return
    top = git._run("rev-parse", "--show-toplevel", check=False)
    if not top or Path(top.strip()).resolve() != path.resolve():
        raise RepositoryError(f"{path} is inside a git work tree but not at its top; pass "
                              f"{top.strip() if top else 'the top folder'} instead")


def validate_repo_id(repo_id: str) -> None:
    if not _ID_RE.match(repo_id or "") or any(p in (".", "..") for p in repo_id.split("/")):
        raise RepositoryError(f"repository id {repo_id!r} is invalid; use OWNER/NAME as a "
                              "FullRepositoryId (acme/sample-app) or NAME as a CodeCommit "
                              "RepositoryName (letters, digits, '.', '_' and '-'; no part "
                              "may be '.' or '..')")


class RepoRegistry:
    """The ``repos.json`` registry of a state directory; reloads when another process writes."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / REGISTRY_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._repos: dict[str, dict] = {}

    # -- reads (the server calls these on every poll; cheap unless the file changed) ----------

    def get(self, repo_id: str) -> RegisteredRepo | None:
        entry = self._current().get(repo_id)
        return RegisteredRepo(repo_id, entry["path"], entry.get("added", 0.0)) if entry else None

    def all(self) -> list[RegisteredRepo]:
        return [RegisteredRepo(rid, e["path"], e.get("added", 0.0))
                for rid, e in sorted(self._current().items())]

    def listing(self) -> list[RepoListing]:
        """Rows for ``repo list``: the default branch and its head read from git now."""
        rows = []
        for repo in self.all():
            git = repo.git()
            try:
                branch = git.default_branch()
                head = git.branch_head(branch) if branch else None
                rows.append(RepoListing(repo.repo_id, repo.path, branch, head))
            except RepositoryError as err:
                rows.append(RepoListing(repo.repo_id, repo.path, None, None, str(err)))
            if not Path(repo.path).is_dir():
                rows[-1] = RepoListing(repo.repo_id, repo.path, None, None, "folder missing")
        return rows

    # -- writes (``runbook local repo add/remove``) -------------------------------------------

    def add(self, repo_id: str, path: Path) -> tuple[RegisteredRepo, bool]:
        """Register (or re-point) an id; returns the entry and whether it replaced one."""
        validate_repo_id(repo_id)
        try:
            refuse_state_folder(Path(path), self.path.parent, "repository folder")
        except UnsafePathError as err:
            raise RepositoryError(str(err)) from err
        check_git_repository(Path(path))
        folder, added = str(Path(path)), time.time()
        with self._locked_file() as repos:
            replaced = repo_id in repos
            repos[repo_id] = {"path": folder, "added": added}
        return RegisteredRepo(repo_id, folder, added), replaced

    def remove(self, repo_id: str) -> None:
        with self._locked_file() as repos:
            if repo_id not in repos:
                raise RepositoryError(f"no repository {repo_id!r} is registered; see "
                                      "`runbook local repo list`")
            del repos[repo_id]

    # -- file handling -------------------------------------------------------------------------

    def _current(self) -> dict[str, dict]:
        with self._lock:
            try:
                st = self.path.stat()
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # each write is a new file
            except FileNotFoundError:
                self._stamp, self._repos = None, {}
                return {}
            if stamp != self._stamp:
                self._repos = _read(self.path)
                self._stamp = stamp
            return dict(self._repos)

    @contextmanager
    def _locked_file(self) -> Iterator[dict[str, dict]]:
        """Read-modify-write under an exclusive lock, so two commands never lose an entry.

        The change counts once it is on disk: readers see the file, never this copy, and a
        failed write (a full disk) raises StoreWriteError (AWS's ServiceUnavailable) with the
        registry as it was, so the same command succeeds once space is freed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_suffix(".lock"), "w")  # noqa: SIM115 - closed below
        except OSError as err:
            raise StoreWriteError(self.path, err) from err
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            repos = _read(self.path)
            yield repos
            try:
                write_atomic(self.path, json.dumps({"repositories": repos}, indent=1,
                                                   sort_keys=True).encode(), keep_backup=True)
            except OSError as err:
                raise StoreWriteError(self.path, err) from err


def _read(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as err:
        raise RepositoryError(f"{path} is not valid JSON ({err}); fix or delete it and "
                              "register the repositories again") from err
    return dict(data.get("repositories", {}))
