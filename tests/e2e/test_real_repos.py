"""Rehearse real public repositories (tests/fixtures/repos, issue 16 "Done when").

Each repository goes through what a new user types: `runbook local repo add`, `runbook
buildspec check`, `runbook run -p apply=true ...` (green to the approval), the approval, a
commit that breaks one named test (the run fails in Build; `runbook triage` names the test, or
the first error line when the check names no test), the fix (green again), `runbook status`
exit 0, `runbook teardown` without apply (deletes nothing), then with apply (deletes what the
suite made). The Dockerfile project's green build must also show its Dockerfile linted and
say what became of the image (built where a Docker engine answers, else skipped).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import fixture_repos
import pytest
from helpers import git, operator_local, operator_runbook, push_and_follow

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import logs, pipeline_state, summaries

pytestmark = pytest.mark.slow

NAMES = sorted(fixture_repos.index())


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with operator_local(tmp_path_factory.mktemp("real-repos-state"),
                        drop=("AWS_", "NODE_ENV")) as started:
        yield started


def _push_and_wait(session: AwsSession, pipeline: str, repo: Path, message: str):
    return push_and_follow(session, pipeline, lambda: git(repo, "commit", "-qam", message),
                           timeout=900)


def _approve_all(session: AwsSession, pipeline: str) -> None:
    for approval in pipeline_state.pending_approvals(session, pipeline):
        pipeline_state.answer_approval(session, approval, True, "checked in staging")


def _engine_answers() -> bool:
    """A Docker engine answers on this machine (the local runner's builds use it)."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _assert_image_step_said(session: AwsSession, pipeline: str, execution_id: str) -> None:
    """A Dockerfile project's green build linted its Dockerfile and says what became of the
    image: built where an engine answers, else skipped in so many words."""
    ref = logs.locate_build(session, pipeline, execution_id)
    lines = [line.strip() for line in logs.read_build_log(session, ref.build_id).lines]
    said = "\n".join(lines)[-3000:]
    assert "File:   Dockerfile" in lines, said  # the linter's report, not the command echoed
    skipped = "No Docker engine on this build host: the image build is skipped." in lines
    assert skipped != _engine_answers(), said


def _pipelines(session: AwsSession) -> set[str]:
    client = session.client("codepipeline")
    return {p["name"] for page in client.get_paginator("list_pipelines").paginate()
            for p in page["pipelines"]}


def _first_run_built(endpoint: str, env, app: str):
    """(session, pipeline, first run): the run creating the pipeline started built (else the
    failure says what triage says)."""
    session = AwsSession("local", "us-east-1", endpoint_url=endpoint)
    pipeline = f"{app}-pipeline"
    first = summaries.list_executions(session, pipeline)[0]
    build = dict(pipeline_state.stage_statuses(session, pipeline, first.execution_id))["Build"]
    assert build == "Succeeded", operator_runbook(env, "triage", "--pipeline", pipeline,
                                                  ok=(0, 1)).stdout
    return session, pipeline, first


@pytest.mark.parametrize("name", NAMES)
def test_real_repository_green_red_green_and_teardown(name, local, tmp_path):
    endpoint, env = local
    entry = fixture_repos.index()[name]
    repo = fixture_repos.copy_repo(name, tmp_path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"{name}: as published")
    repo_id, app = f"public/{name}", name
    params = ["-p", f"app_name={app}", "-p", f"source_repo={repo_id}"]
    operator_runbook(env, "local", "repo", "add", repo_id, str(repo))
    operator_runbook(env, "buildspec", "check", str(repo / "buildspec.yml"))

    # Green: creating the pipeline starts its first run, followed to the approval.
    operator_runbook(env, "run", "-p", "apply=true", *params, "--out", str(tmp_path / "out"))
    session, pipeline, _ = _first_run_built(endpoint, env, app)
    _approve_all(session, pipeline)

    # Red: a commit breaks one named test; the run fails in Build and triage names it.
    fixture_repos.break_repo(repo, name)
    red = _push_and_wait(session, pipeline, repo, "break a test")
    assert red.status == "Failed"
    assert [s for s, status in pipeline_state.stage_statuses(session, pipeline, red.execution_id)
            if status == "Failed"] == ["Build"]
    report = json.loads(operator_runbook(env, "triage", "--pipeline", pipeline, "--json",
                                         ok=(1,)).stdout)
    if entry["failing_test"]:
        assert entry["failing_test"] in report["failing_tests"], report
    assert entry["error_line"] in report["error_line"], report

    # Green again: the fix deploys to staging and waits for the approval.
    fixture_repos.fix_repo(repo, name)
    green = _push_and_wait(session, pipeline, repo, "fix the test")
    assert dict(pipeline_state.stage_statuses(session, pipeline, green.execution_id))[
        "Build"] == "Succeeded"
    if entry["kind"].startswith("docker"):
        _assert_image_step_said(session, pipeline, green.execution_id)
    operator_runbook(env, "status", *params)

    # Teardown plans without apply, and deletes what the suite made with it.
    operator_runbook(env, "teardown", *params, "--out", str(tmp_path / "plan"))
    assert pipeline in _pipelines(session)
    operator_runbook(env, "teardown", "-p", "apply=true", *params, "--out", str(tmp_path / "down"))
    assert pipeline not in _pipelines(session)


def test_a_python_repository_without_a_buildspec_builds_with_the_python_template(local,
                                                                                  tmp_path):
    """idna as published minus its buildspec: pyproject.toml picks the python template, which
    installs into a virtual environment (the build host's Python may refuse pip, PEP 668) and
    runs the unittest tests with pytest in pre_build; a broken test fails the run, named."""
    endpoint, env = local
    name = "unittest-idna"
    repo = fixture_repos.copy_repo(name, tmp_path)
    (repo / "buildspec.yml").unlink()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "idna without a buildspec")
    repo_id, app = "public/idna-template", "idna-template"
    operator_runbook(env, "local", "repo", "add", repo_id, str(repo))
    out = tmp_path / "out"
    operator_runbook(env, "run", "-p", "apply=true", "-p", f"app_name={app}", "-p",
                     f"source_repo={repo_id}", "--out", str(out))
    assert "build template: python (decided by pyproject.toml" in (
        out / "04_buildspec.ipynb").read_text()
    session, pipeline, first = _first_run_built(endpoint, env, app)
    ref = logs.locate_build(session, pipeline, first.execution_id)
    lines = [line.strip() for line in logs.read_build_log(session, ref.build_id).lines]
    assert any(line.endswith(" passed in") or " passed in " in line for line in lines), lines
    _approve_all(session, pipeline)

    fixture_repos.break_repo(repo, name)
    red = _push_and_wait(session, pipeline, repo, "break a test")
    assert red.status == "Failed"
    report = json.loads(operator_runbook(env, "triage", "--pipeline", pipeline, "--json",
                                         ok=(1,)).stdout)
    assert "tests/test_idna.py::IDNATests::test_encode" in report["failing_tests"], report
    assert fixture_repos.index()[name]["error_line"] in report["error_line"], report
    operator_runbook(env, "teardown", "-p", "apply=true", "-p", f"app_name={app}",
                     "--out", str(tmp_path / "down"))
