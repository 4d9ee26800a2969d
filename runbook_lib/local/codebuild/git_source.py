"""A build's git source (GitHub, GitHub Enterprise, GitLab, Bitbucket) from a registered
local repository.

CodeBuild clones the project's repository at ``sourceVersion`` (a commit id, a branch, a tag,
or the default branch when none is given). Locally the repository is the folder registered
with ``runbook local repo add OWNER/NAME PATH``: the project's location
``https://github.com/OWNER/NAME.git`` (any host, ``.git`` optional) names ``OWNER/NAME``. The
commit's tree is extracted as the source, without ``.git`` (CodeBuild's ``gitCloneDepth`` and
submodules are not emulated).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from urllib.parse import urlparse

from runbook_lib.local.archives import extract_zip
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codepipeline.repos import RegisteredRepo, RepoRegistry, RepositoryError

GIT_SOURCE_TYPES = ("GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET")


def repo_id_of(location: str) -> str | None:
    """``OWNER/NAME`` of a repository URL; None when the location names none."""
    path = urlparse(location or "").path if "://" in (location or "") else location or ""
    parts = [p for p in path.removesuffix(".git").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def registered(state_dir: Path, location: str) -> RegisteredRepo | None:
    repo_id = repo_id_of(location)
    return RepoRegistry(state_dir).get(repo_id) if repo_id else None


def resolve_version(repo: RegisteredRepo, version: str | None) -> str | None:
    """The commit a source version names: a commit id, ``refs/...``, a branch or tag name,
    or the default branch's head when no version is given."""
    git = repo.git()
    if not version:
        branch = git.default_branch()
        return git.branch_head(branch) if branch else None
    wanted = version.removeprefix("refs/heads/").removeprefix("refs/tags/")
    return (git.resolve_commit(version) or git.branch_head(wanted)
            or git.refs().get(f"refs/tags/{wanted}"))


def fetch_git_source(state_dir: Path, location: str, version: str | None, dest: Path) -> str:
    """Extract the commit ``version`` names into ``dest``; returns its full commit id."""
    repo = registered(state_dir, location)
    if repo is None:
        raise PhaseFailed("CLIENT_ERROR", f"repository {location} is not registered with the "
                          f"local AWS; register its folder: runbook local repo add "
                          f"{repo_id_of(location) or 'OWNER/NAME'} PATH")
    try:
        sha = resolve_version(repo, version)
        if sha is None:
            raise PhaseFailed("CLIENT_ERROR", f"reference not found for primary source and "
                              f"source version {version or '(default branch)'} in {location}")
        extract_zip(repo.git().archive_zip(sha), dest, keep_links=True)
    except (RepositoryError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise PhaseFailed("CLIENT_ERROR", f"cannot read {location} ({repo.path}): {err}") \
            from err
    return sha
