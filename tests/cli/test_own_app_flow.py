"""A stranger's repository through the real `runbook` command: green, red, and the truth told.

A small Python repository this test writes (``pyproject.toml``, unittest tests, its buildspec
as ``buildspec.yaml``, which CodeBuild finds only when the project names it) goes through
`runbook local repo add`, `runbook run -p ...` to the approval, a commit that breaks a test, and
the teardown, each command a subprocess in a working folder of its own, as in a new shell:
the parameters given once come back from ./runbook.toml, and the same local AWS is found.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from runbook_lib.core import local_endpoint
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.operate import executions, pipeline_state, summaries

pytestmark = pytest.mark.slow

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
AWS = str(Path(sys.executable).with_name("aws"))
GIT = ["git", "-c", "user.name=Stranger", "-c", "user.email=stranger@example.com"]
SETUP = ["preflight", "bucket", "iam", "buildspec", "build-project", "config", "pipeline",
         "monitoring"]

BUILDSPEC = """\
version: 0.2
phases:
  pre_build:
    commands:
      - python3 -m unittest discover -s tests -v
  build:
    commands:
      - mkdir -p dist && cp -r src dist/
artifacts:
  base-directory: dist
  files:
    - '**/*'
"""
SOURCE = "def slug(words):\n    return '-'.join(w.lower() for w in words)\n"
TEST = """\
import sys
import unittest

sys.path.insert(0, "src")
from strangerlib import slug


class SlugTest(unittest.TestCase):
    def test_words_are_joined_by_dashes(self):
        self.assertEqual(slug(["A", "b"]), "a-b")


if __name__ == "__main__":
    unittest.main()
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)


def _python_repo(root: Path) -> Path:
    repo = root / "strangerlib"
    (repo / "src" / "strangerlib").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "strangerlib"\nversion = "0.1"\n')
    (repo / "src" / "strangerlib" / "__init__.py").write_text(SOURCE)
    (repo / "tests" / "test_slug.py").write_text(TEST)
    (repo / "buildspec.yaml").write_text(BUILDSPEC)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first release")
    return repo


@pytest.fixture
def shell(tmp_path):
    """A new shell's environment: no AWS variables, only where the local AWS keeps its state
    (as after `export RUNBOOK_STATE_DIR=...`), a working folder of its own."""
    state = tmp_path / "state"
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "RUNBOOK_"))}
    env.update(RUNBOOK_STATE_DIR=str(state), AWS_REGION="us-east-1")
    yield env, work, state
    process.stop(state)


def _runbook(env, cwd, *args, expect=0, timeout=900):
    done = subprocess.run([*RUNBOOK, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == expect, done.stdout[-4000:] + done.stderr[-4000:]
    # No traceback of the suite's own; jupyter_client's zmq streams may log one of theirs
    # while a kernel shuts down on a loaded machine (seen once, after a successful teardown).
    assert "Traceback" not in done.stderr or "runbook_lib" not in done.stderr, done.stderr
    return done


def _session(state: Path) -> AwsSession:
    status = local_endpoint.read_status(state)
    assert status and status.alive
    return AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)


def test_a_strangers_python_repository_green_red_and_teardown(shell, tmp_path):
    env, work, state = shell
    repo = _python_repo(tmp_path)
    _runbook(env, work, "local", "start")
    _runbook(env, work, "local", "repo", "add", "stranger/strangerlib", str(repo))

    out = work / "out-setup"
    first = _runbook(env, work, "run", "-p", "apply=true", "-p", "app_name=strangerlib",
                     "-p", "source_repo=stranger/strangerlib", "--only", *SETUP,
                     "--only", "run", "--out", str(out))
    # --only twice runs both lists; the run ends with the followed run waiting for approval.
    assert "[9/9] run" in first.stdout
    assert "waiting for approval at Approve-production/Approve" in first.stdout
    assert "aws codepipeline put-approval-result --pipeline-name strangerlib-pipeline" in \
        first.stdout
    assert "runbook run --only approvals -p decision=approve" in first.stdout

    # Remembered: the parameters (not apply), the state folder; said on stderr.
    saved = tomllib.loads((work / "runbook.toml").read_text())
    assert saved["parameters"] == {"app_name": "strangerlib",
                                   "source_repo": "stranger/strangerlib"}
    assert saved["local"]["state_dir"] == str(state)
    assert f"with state in {state}" in first.stderr

    # 04 found buildspec.yaml and the template's file; the project names the path.
    buildspec_nb = (out / "04_buildspec.ipynb").read_text()
    assert "stranger/strangerlib@main:buildspec.yaml" in buildspec_nb
    assert "build template: python (decided by pyproject.toml" in buildspec_nb
    session = _session(state)
    project = session.client("codebuild").batch_get_projects(
        names=["strangerlib-build"])["projects"][0]
    assert project["source"]["buildspec"] == "buildspec.yaml"
    assert project["environment"]["environmentVariables"] == []  # nothing invented
    assert "refused: DB_PASSWORD" not in (out / "05_build_project.ipynb").read_text()
    assert not executions_parameters(session)  # no placeholder config or secrets

    # Private output: folders 0700, files 0600.
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "04_buildspec.ipynb").stat().st_mode) == 0o600

    # Red: a commit breaks the test; `runbook run` (no -p: runbook.toml) says so, exit 3.
    # The cockpit command it printed approves, with a summary holding ": " (no -p app_name).
    pipeline = "strangerlib-pipeline"
    cockpit = next(line.strip() for line in first.stdout.splitlines()
                   if line.strip().startswith("runbook run --only approvals"))
    waiting = summaries.list_executions(session, pipeline)[0].execution_id
    assert f"-p execution_id={waiting}" in cockpit
    approved = _runbook(env, work, "run", "--only", "approvals", "-p", "decision=approve",
                        "-p", f"execution_id={waiting}", "-p",
                        "summary=Staging checked: all good", "--out", str(work / "out-approve"))
    assert "audit record: s3://" in approved.stdout  # said in the terminal, not only the HTML
    assert not [a for a in pipeline_state.pending_approvals(session, pipeline)
                if a.execution_id == waiting]
    known = {e.execution_id for e in summaries.list_executions(session, pipeline)}
    source = repo / "src" / "strangerlib" / "__init__.py"
    source.write_text(SOURCE.replace("'-'", "'_'"))
    _git(repo, "commit", "-qam", "a change that breaks a test")
    red = executions.wait_for_new_execution(session, pipeline, known, timeout=120)
    failed = _runbook(env, work, "run", "--only", "run", "--out", str(work / "out-red"),
                      expect=3)
    assert f"pipeline run {red.execution_id} of {pipeline}: FAILED at Build/" in failed.stdout
    assert f"runbook triage --pipeline {pipeline} --execution {red.execution_id}" in \
        failed.stdout
    triaged = _runbook(env, work, "triage", expect=1)
    assert "test_words_are_joined_by_dashes" in triaged.stdout

    # status finds the same local AWS from runbook.toml, with no -p.
    status = _runbook(env, work, "status", expect=0)
    assert "strangerlib" in status.stdout

    # Teardown: a plan without apply (nothing deleted), then apply.
    planned = _runbook(env, work, "teardown", "--out", str(work / "out-plan"))
    assert "runbook teardown -p apply=true" in planned.stdout
    assert [p["name"] for p in session.client("codepipeline").list_pipelines()["pipelines"]
            ] == [pipeline]
    _runbook(env, work, "teardown", "-p", "apply=true", "--out", str(work / "out-down"))
    assert session.client("codepipeline").list_pipelines()["pipelines"] == []


def executions_parameters(session: AwsSession) -> list[str]:
    """Config parameters and secrets of the app: there must be none."""
    found = session.client("ssm").get_parameters_by_path(Path="/strangerlib", Recursive=True)
    secrets = session.client("secretsmanager").list_secrets()["SecretList"]
    return [p["Name"] for p in found["Parameters"]] + [
        s["Name"] for s in secrets if s["Name"].startswith("strangerlib/")]


def test_local_env_prints_the_exports_of_the_remembered_local_aws(shell):
    env, work, state = shell
    (work / "runbook.toml").write_text(f'version = 1\ntarget = "local"\n\n[local]\n'
                                       f'state_dir = "{state}"\n\n[parameters]\n'
                                       'app_name = "shop"\n')
    fresh = {k: v for k, v in env.items() if k != "RUNBOOK_STATE_DIR"}
    printed = _runbook(fresh, work, "local", "env")
    exports = dict(line[len("export "):].split("=", 1) for line in printed.stdout.splitlines()
                   if line.startswith("export "))
    assert exports["RUNBOOK_STATE_DIR"] == str(state)
    assert exports["AWS_ENDPOINT_URL"] == local_endpoint.read_status(state).endpoint_url
    ident = subprocess.run([AWS, "sts", "get-caller-identity", "--output", "text", "--query",
                            "Account"], env={**fresh, **exports}, capture_output=True,
                           text=True, timeout=60)
    assert ident.stdout.strip() == "123456789012", ident.stderr
    # `runbook local ...` in that folder, in a new shell, reaches the same local AWS.
    status = _runbook(fresh, work, "local", "status")
    assert exports["AWS_ENDPOINT_URL"] in status.stdout
    assert f"local AWS state in {state} (from" in status.stderr


def test_a_reader_that_stops_reading_ends_it_quietly(shell):
    """`runbook ... | head`: the reader goes away first; no "Broken pipe ... Fix:" paragraph."""
    env, work, _ = shell
    proc = subprocess.Popen([*RUNBOOK, "run", "--list"], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # closed before the command writes its first line
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert stderr == ""


def test_a_dockerfile_repository_gets_the_docker_template_until_it_carries_a_buildspec(
        shell, tmp_path):
    """No buildspec: the template its Dockerfile points to, inline and privileged; once a
    buildspec.yml is committed, re-running the setup points the project at it."""
    env, work, state = shell
    repo = tmp_path / "dockapp"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM scratch\nCOPY index.html /\n")
    (repo / "index.html").write_text("<h1>hello</h1>\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first")
    _runbook(env, work, "local", "start")
    _runbook(env, work, "local", "repo", "add", "me/dockapp", str(repo))
    out = work / "out"
    _runbook(env, work, "run", "--only", "iam", "buildspec", "build-project", "-p",
             "apply=true", "-p", "app_name=dockapp", "-p", "source_repo=me/dockapp",
             "--out", str(out))
    assert "build template: docker (decided by Dockerfile in me/dockapp@main)" in \
        (out / "05_build_project.ipynb").read_text()
    project = _session(state).client("codebuild").batch_get_projects(
        names=["dockapp-build"])["projects"][0]
    assert project["environment"]["privilegedMode"] is True
    assert "docker build" in project["source"]["buildspec"]  # the template, inline

    (repo / "buildspec.yml").write_text("version: 0.2\nphases:\n  build:\n    commands:\n"
                                        "      - echo built\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "carry a buildspec")
    _runbook(env, work, "run", "--only", "build-project", "-p", "apply=true",
             "--out", str(work / "again"))  # the rest comes from runbook.toml
    project = _session(state).client("codebuild").batch_get_projects(
        names=["dockapp-build"])["projects"][0]
    assert project["source"]["buildspec"] == "buildspec.yml"
