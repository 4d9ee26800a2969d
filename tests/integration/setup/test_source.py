"""The operator's repository decides its build: template detection and buildspec discovery.

Repositories are real git repositories in temporary folders, registered with the local AWS over
its control API, read at the head of the watched branch (uncommitted files do not count).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.params import Params
from runbook_lib.local.server import client
from runbook_lib.setup import codebuild, source

GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n"


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "first", "--allow-empty"], cwd=root, check=True)
    return root


def _commit(repo: Path, message: str) -> None:
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", message], cwd=repo, check=True)


@pytest.fixture
def own(session, tmp_path, app_name):
    """Register a repository of these files as acme/<app>; the params that point at it."""
    def make(files: dict[str, str], **fields) -> tuple[Params, Path]:
        repo = _repo(tmp_path / "repo", files)
        client.register_repo(session.endpoint_url, f"acme/{app_name}", repo)
        return Params(app_name=app_name, source_repo=f"acme/{app_name}", **fields), repo
    return make


@pytest.mark.parametrize("files, template, marker", [
    ({"package.json": "{}"}, "nodejs", "package.json"),
    ({"pyproject.toml": "[project]\n"}, "python", "pyproject.toml"),
    ({"requirements.txt": "requests\n"}, "python", "requirements.txt"),
    ({"setup.py": "\n"}, "python", "setup.py"),
    ({"Dockerfile": "FROM scratch\n"}, "docker", "Dockerfile"),
    ({"package.json": "{}", "Dockerfile": "FROM node\n"}, "nodejs", "package.json"),
])
def test_the_template_is_detected_from_the_file_that_decides(session, own, files, template,
                                                            marker):
    params, _ = own(files)
    choice = source.detect_template(session, params)
    assert choice.template == template
    assert marker in choice.line() and "decided by" in choice.line()


def test_a_given_template_wins_over_detection(session, own):
    params, _ = own({"package.json": "{}"}, build_template="python")
    assert source.detect_template(session, params).template == "python"


@pytest.mark.parametrize("name", ["buildspec.yml", "buildspec.yaml"])
def test_the_buildspec_is_found_at_codebuilds_names_and_the_project_names_it(
        session, own, names_of, name):
    params, _ = own({name: BUILDSPEC, "pyproject.toml": ""})
    found = source.read_source_buildspec(session, params)
    assert (found.path, found.text) == (name, BUILDSPEC)
    assert source.project_buildspec(session, params) == name
    desired = codebuild.desired_project(params, names_of(params),
                                        source.project_buildspec(session, params))
    assert desired["source"]["buildspec"] == name
    assert source.check_source_buildspec(session, params).ok


def test_buildspec_path_names_another_file(session, own):
    params, _ = own({"ci/build.yml": BUILDSPEC}, buildspec_path="ci/build.yml")
    assert source.project_buildspec(session, params) == "ci/build.yml"
    assert "ci/build.yml" in "\n".join(source.describe(session, params))


def test_adding_the_buildspec_later_changes_the_project_on_the_next_setup(session, own):
    params, repo = own({"pyproject.toml": "[project]\n"})
    before = source.project_buildspec(session, params)
    assert "\n" in before and "python" in source.describe(session, params)[1]  # template
    (repo / "buildspec.yaml").write_text(BUILDSPEC)
    assert "\n" in source.project_buildspec(session, params)  # not committed: not seen
    _commit(repo, "add a buildspec")
    assert source.project_buildspec(session, params) == "buildspec.yaml"


def test_no_buildspec_and_nothing_to_detect_says_what_to_do(session, own):
    params, _ = own({"README.md": "hello\n"})
    with pytest.raises(ParameterError) as err:
        source.project_buildspec(session, params)
    assert "build_template" in str(err.value) and "buildspec.yml" in str(err.value)


def test_an_unregistered_repository_is_named_with_the_command_that_registers_it(session):
    params = Params(app_name="nowhere", source_repo="acme/not-registered-anywhere")
    with pytest.raises(StepError) as err:
        source.check_source_buildspec(session, params)
    assert "runbook local repo add acme/not-registered-anywhere" in str(err.value)


@pytest.fixture
def names_of():
    return lambda params: params.names()
