"""The buildspec and the build template of the pipeline's source, found as CodeBuild finds them.

CodeBuild reads ``buildspec.yml`` at the source root unless the project's ``buildspec`` field
names another path; a repository that carries ``buildspec.yaml`` (or ``ci/build.yml``) needs
that field set, as a user must do on AWS. So the suite looks for the repository's buildspec at
CodeBuild's conventional names (or at ``buildspec_path``) and sets the field to the path it
found; a repository without one gets a template inline in the project.

The template is the operator's ``build_template``, or for any repository but the sample app it
is detected from the files at the root (``package.json`` -> nodejs, ``pyproject.toml`` /
``requirements.txt`` / ``setup.py`` -> python, ``Dockerfile`` -> docker), and the plan says which
file decided it. On the local AWS the registered repository is a folder on this machine, read at
the head of the watched branch; on AWS the suite cannot read the repository and trusts it to
carry the buildspec at ``buildspec_path`` (default ``buildspec.yml``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.buildspec import lint as buildspec_lint
from runbook_lib.buildspec import templates
from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.param_rules import SAMPLE_REPO
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import client

BUILDSPEC_FILE = "buildspec.yml"  # where CodeBuild looks when the project names no path
BUILDSPEC_NAMES = ("buildspec.yml", "buildspec.yaml")
# Files at the repository root that decide the template, first match wins.
TEMPLATE_MARKERS = (("package.json", "nodejs"), ("pyproject.toml", "python"),
                    ("requirements.txt", "python"), ("setup.py", "python"),
                    ("Dockerfile", "docker"))


@dataclass(frozen=True)
class SourceBuildspec:
    """Where the build's buildspec comes from, and its text when it can be read from here."""

    repository: str
    branch: str
    checkout: Path | None = None  # the registered folder (local AWS); None when unknown
    text: str | None = None  # the file at the branch head; None when absent or unreadable
    path: str = BUILDSPEC_FILE  # the path in the repository (found, or the one trusted)

    @property
    def own(self) -> bool:
        """The operator's repository is registered (the sample app is not yet, or is)."""
        return self.checkout is not None

    @property
    def in_repository(self) -> bool:
        """The project reads the buildspec from the source (else: a template inline)."""
        return not self.own or self.text is not None

    @property
    def name(self) -> str:
        return f"{self.repository}@{self.branch}:{self.path}"


@dataclass(frozen=True)
class TemplateChoice:
    """The build template and what decided it (a parameter, a file, the sample app)."""

    template: str  # empty: none could be decided
    decided_by: str

    def line(self) -> str:
        if not self.template:
            return f"build template: none ({self.decided_by})"
        return f"build template: {self.template} (decided by {self.decided_by})"


def registered_checkout(session: AwsSession, repository: str) -> Path | None:
    """The folder registered as ``repository`` with the local AWS (None on AWS or unknown)."""
    if not session.is_local:
        return None
    for repo in client.list_repos(session.local_endpoint_url):
        if repo["id"] == repository:
            return Path(repo["path"])
    return None


def _git(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True)


def _file_at(checkout: Path, branch: str, path: str) -> str | None:
    shown = _git(checkout, "show", f"{branch}:{path}")
    return shown.stdout if shown.returncode == 0 else None


def root_names(checkout: Path, branch: str) -> set[str]:
    """Names of the files at the repository root, at the head of ``branch``."""
    listed = _git(checkout, "ls-tree", "--name-only", "-z", branch)
    return set(filter(None, listed.stdout.split("\0"))) if listed.returncode == 0 else set()


def read_source_buildspec(session: AwsSession, params: Params) -> SourceBuildspec:
    """The repository's buildspec at the head of the watched branch, when registered here:
    at ``buildspec_path``, else at the first of CodeBuild's conventional names it carries."""
    checkout = registered_checkout(session, params.source_repo)
    trusted = params.buildspec_path or BUILDSPEC_FILE
    if checkout is None:
        return SourceBuildspec(params.source_repo, params.source_branch, None, None, trusted)
    candidates = (params.buildspec_path,) if params.buildspec_path else BUILDSPEC_NAMES
    for path in candidates:
        text = _file_at(checkout, params.source_branch, path)
        if text is not None:
            return SourceBuildspec(params.source_repo, params.source_branch, checkout, text,
                                   path)
    return SourceBuildspec(params.source_repo, params.source_branch, checkout, None, trusted)


def detect_template(session: AwsSession, params: Params) -> TemplateChoice:
    """The build template: the parameter when given, else the repository's files decide."""
    if params.build_template:
        why = ("the sample app's default" if params.source_repo == SAMPLE_REPO else
               f"the parameter build_template={params.build_template}")
        return TemplateChoice(params.build_template, why)
    checkout = registered_checkout(session, params.source_repo)
    if checkout is None:
        return TemplateChoice("", f"{params.source_repo} is not a folder on this machine, so "
                              "it cannot be read from here; the project runs the buildspec "
                              "the repository carries")
    names = root_names(checkout, params.source_branch)
    for marker, template in TEMPLATE_MARKERS:
        if marker in names:
            return TemplateChoice(template, f"{marker} in {params.source_repo}@"
                                  f"{params.source_branch}")
    markers = ", ".join(m for m, _ in TEMPLATE_MARKERS)
    return TemplateChoice("", f"{params.source_repo}@{params.source_branch} has none of "
                          f"{markers} at its root")


def resolve(session: AwsSession, params: Params) -> tuple[Params, TemplateChoice]:
    """The parameters with the detected template filled in, and the choice to show."""
    choice = detect_template(session, params)
    if choice.template and choice.template != params.build_template:
        params = params.replace(build_template=choice.template)
    return params, choice


def check_source_buildspec(session: AwsSession, params: Params
                           ) -> buildspec_lint.BuildspecCheck | None:
    """Validate and lint the buildspec the build will run; None when it cannot be read here.

    The registered repository's own buildspec (at ``buildspec_path`` or a conventional name);
    the sample app's when none is registered yet (the pipeline notebook registers it); for a
    repository without one, the template it will get. On the local AWS a repository that is
    not the sample app must be registered first: the error says how.
    """
    source = read_source_buildspec(session, params)
    if not source.own and params.source_repo != SAMPLE_REPO:
        if session.is_local:
            raise StepError(
                f"{params.source_repo} is not registered with the local AWS, so there is no "
                "source to build. Fix: runbook local repo add "
                f"{params.source_repo} /path/to/your/repository (a git work tree), then re-run")
        return None
    if not source.own:
        return buildspec_lint.check_file()
    if source.text is not None:
        return buildspec_lint.check_text(source.text, source.name)
    params, choice = resolve(session, params)
    template = _required_template(params, source, choice)
    return buildspec_lint.check_text(
        templates.render_buildspec(template, params),
        f"{template} template ({_not_found(params, source)}: the project embeds it)")


def project_buildspec(session: AwsSession, params: Params) -> str:
    """The project's ``source.buildspec``: the path in the source, or a template's text."""
    source = read_source_buildspec(session, params)
    if source.in_repository:
        return source.path
    params, choice = resolve(session, params)
    return templates.render_buildspec(_required_template(params, source, choice), params)


def describe(session: AwsSession, params: Params) -> list[str]:
    """What the plan says about the build's source: the buildspec, the template and what
    decided it, and which run uses it."""
    source = read_source_buildspec(session, params)
    _, choice = resolve(session, params)
    if not source.own:
        where = (f"{source.path} from {params.source_repo} (not read from here: the repository "
                 "must carry it)" if params.source_repo != SAMPLE_REPO else
                 f"{BUILDSPEC_FILE} of the sample app")
        lines = [f"buildspec: {where}"]
    elif source.text is not None:
        lines = [f"buildspec: {source.name}, from the repository; the project's buildspec "
                 f"field is set to {source.path}"
                 + ("" if source.path == BUILDSPEC_FILE else
                    f" (CodeBuild reads {BUILDSPEC_FILE} unless the project names another "
                    "path)")]
    else:
        lines = [f"buildspec: {_not_found(params, source)}: the project embeds the "
                 f"{choice.template or '?'} template; add one and re-run this step to use it"]
    lines.append(choice.line())
    lines.append(f"used by: the next run of the pipeline. Creating the pipeline starts one; "
                 f"after that a commit on {params.source_branch} starts one, or "
                 "`runbook run --only run -p watch=start`")
    return lines


def _not_found(params: Params, source: SourceBuildspec) -> str:
    looked = params.buildspec_path or " or ".join(BUILDSPEC_NAMES)
    return f"{params.source_repo}@{params.source_branch} carries no {looked}"


def _required_template(params: Params, source: SourceBuildspec, choice: TemplateChoice) -> str:
    if choice.template:
        return choice.template
    raise ParameterError(
        "build_template", "",
        f"cannot be detected: {_not_found(params, source)}, and {choice.decided_by}",
        "add a buildspec.yml to the repository, or pass -p build_template=python (nodejs, "
        "python or docker)")
