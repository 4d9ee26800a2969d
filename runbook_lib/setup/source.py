"""The buildspec the pipeline's source carries: the operator's own, or a template.

CodeBuild reads ``buildspec.yml`` from the source when the project names that path, so an
operator's repository brings its own build; a repository without one gets the chosen template
inline in the project. On the local AWS the registered repository is a folder on this machine,
so its buildspec is read (at the head of the watched branch) and checked before the pipeline
ever runs it. On AWS the suite cannot read the repository and trusts it to carry one.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.buildspec import lint as buildspec_lint
from runbook_lib.buildspec import templates
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import client

BUILDSPEC_FILE = "buildspec.yml"


@dataclass(frozen=True)
class SourceBuildspec:
    """Where the build's buildspec comes from, and its text when it can be read from here."""

    repository: str
    branch: str
    checkout: Path | None = None  # the registered folder (local AWS); None when unknown
    text: str | None = None  # the file at the branch head; None when absent or unreadable

    @property
    def own(self) -> bool:
        """The operator's repository is registered (the sample app is not yet, or is)."""
        return self.checkout is not None

    @property
    def in_repository(self) -> bool:
        """The project reads buildspec.yml from the source (else: a template inline)."""
        return not self.own or self.text is not None

    @property
    def name(self) -> str:
        return f"{self.repository}@{self.branch}:{BUILDSPEC_FILE}"


def registered_checkout(session: AwsSession, repository: str) -> Path | None:
    """The folder registered as ``repository`` with the local AWS (None on AWS or unknown)."""
    if not session.is_local:
        return None
    for repo in client.list_repos(session.endpoint_url):
        if repo["id"] == repository:
            return Path(repo["path"])
    return None


def read_source_buildspec(session: AwsSession, params: Params) -> SourceBuildspec:
    """The repository's buildspec.yml at the head of the watched branch, when registered here."""
    checkout = registered_checkout(session, params.source_repo)
    found = SourceBuildspec(params.source_repo, params.source_branch, checkout)
    if checkout is None:
        return found
    shown = subprocess.run(["git", "show", f"{params.source_branch}:{BUILDSPEC_FILE}"],
                           cwd=checkout, capture_output=True, text=True)
    return SourceBuildspec(params.source_repo, params.source_branch, checkout,
                           shown.stdout if shown.returncode == 0 else None)


def check_source_buildspec(session: AwsSession, params: Params, path: str = ""
                           ) -> buildspec_lint.BuildspecCheck:
    """Validate and lint the buildspec the build will run.

    ``path`` names a file to check instead. Otherwise: the registered repository's own
    buildspec.yml; the sample app's when none is registered yet (the pipeline notebook registers
    it); for a repository without one, the template it will get.
    """
    if path:
        return buildspec_lint.check_file(path)
    source = read_source_buildspec(session, params)
    if not source.own:
        return buildspec_lint.check_file()
    if source.text is not None:
        return buildspec_lint.check_text(source.text, source.name)
    return buildspec_lint.check_text(
        templates.render_buildspec(params.build_template, params),
        f"{params.build_template} template ({source.name} not found: the project embeds it)")


def project_buildspec(session: AwsSession, params: Params) -> str:
    """The project's ``source.buildspec``: the path in the source, or a template's text."""
    source = read_source_buildspec(session, params)
    if source.in_repository:
        return BUILDSPEC_FILE
    return templates.render_buildspec(params.build_template, params)
