"""The operator's own repository as the pipeline's source, on the local AWS.

``runbook local repo add OWNER/NAME PATH`` registers a git repository; with
``source_repo=OWNER/NAME`` the suite then builds that repository instead of the sample app:
the build project reads the repository's own ``buildspec.yml`` (notebook 04 validates and
lints it first), and the sample history is not pushed into it. Repositories without a
buildspec keep using a template (notebook 04 renders one to commit).
"""

from __future__ import annotations

from pathlib import Path

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process

BUILDSPEC_NAME = "buildspec.yml"
SAMPLE_REPOS_DIR = "repos"  # <state>/repos/<owner>__<name>: where the sample app is created


def registered_repository(session: AwsSession, params: Params) -> Path | None:
    """The operator's repository registered as ``params.source_repo``; None when nothing is
    registered, when it is the suite's own copy of the sample app, or off the local AWS."""
    if not session.is_local or not session.endpoint_url:
        return None
    try:
        registered = {r["id"]: r["path"] for r in process.list_repos(session.endpoint_url)}
        state_dir = Path(process.server_info(session.endpoint_url)["state_dir"])
    except (OSError, LocalAwsError):  # no local AWS answering: nothing is registered
        return None
    path = registered.get(params.source_repo)
    if path is None or Path(path).parent == state_dir / SAMPLE_REPOS_DIR:
        return None
    return Path(path)


def repository_buildspec(session: AwsSession, params: Params) -> str:
    """Path of the registered repository's buildspec.yml, or "" (then the sample app's)."""
    repo = registered_repository(session, params)
    if repo is None or not (repo / BUILDSPEC_NAME).is_file():
        return ""
    return str(repo / BUILDSPEC_NAME)
