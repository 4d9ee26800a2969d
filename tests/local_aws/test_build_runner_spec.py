"""The runner honours what a buildspec declares: version 0.1's one shell per command,
``env.shell``, ``run-as``; what this machine cannot do fails with CodeBuild's phase context."""

from __future__ import annotations

import getpass
import io
import zipfile

import pytest
from helpers import BUILD_ENVIRONMENT as ENVIRONMENT
from helpers import BUILD_ROLE as ROLE
from helpers import make_zip, run_inline_build, wait_for_build

_start = run_inline_build  # a project with an inline buildspec, one build, waited for


def _log(session, build) -> list[str]:
    logs = session.client("logs")
    paginator = logs.get_paginator("filter_log_events")
    return [event["message"] for page in paginator.paginate(
        logGroupName=build["logs"]["groupName"], logStreamNames=[build["logs"]["streamName"]])
        for event in page["events"]]


def _failed_phase(build) -> tuple[str, str, str] | None:
    for phase in build["phases"]:
        if phase.get("phaseStatus") == "FAILED":
            context = phase["contexts"][0]
            return phase["phaseType"], context["statusCode"], context["message"]
    return None


def test_version_01_runs_each_command_in_its_own_shell(session, app_name):
    build = _start(session, app_name, "version: 0.1\nenvironment_variables:\n  plaintext:\n"
                   "    GREETING: hello\nphases:\n  build:\n    commands:\n"
                   "      - export LATER=set; cd /\n"
                   "      - echo \"var=${LATER:-unset} pwd=$(pwd) greeting=$GREETING\"\n")
    assert build["buildStatus"] == "SUCCEEDED"
    line = next(m for m in _log(session, build) if m.startswith("var="))
    assert "var=unset" in line and "greeting=hello" in line
    assert "pwd=/ " not in line  # the cd did not carry over either


def test_version_02_shares_one_shell(session, app_name):
    build = _start(session, app_name, "version: 0.2\nphases:\n  build:\n    commands:\n"
                   "      - export LATER=set\n      - echo \"var=${LATER:-unset}\"\n")
    assert any(m.strip() == "var=set" for m in _log(session, build))


def test_version_01_stops_at_the_failing_command(session, app_name):
    build = _start(session, app_name, "version: 0.1\nphases:\n  build:\n    commands:\n"
                   "      - echo first\n      - exit 3\n      - echo never\n")
    assert _failed_phase(build) == ("BUILD", "COMMAND_EXECUTION_ERROR",
                                    "Error while executing command: exit 3. Reason: exit "
                                    "status 3")
    assert not any(m.strip() == "never" for m in _log(session, build))


@pytest.mark.parametrize(("shell", "expected"), [("bash", "bash"), ("/bin/sh", "posix")])
def test_env_shell_picks_the_shell(session, app_name, shell, expected):
    build = _start(session, app_name, f"version: 0.2\nenv:\n  shell: {shell}\nphases:\n"
                   "  build:\n    commands:\n"
                   "      - if [ -n \"$BASH_VERSION\" ]; then echo is=bash; else echo is=posix;"
                   " fi\n")
    assert build["buildStatus"] == "SUCCEEDED"
    assert f"is={expected}" in [m.strip() for m in _log(session, build)]


def test_a_windows_shell_fails_download_source(session, app_name):
    build = _start(session, app_name, "version: 0.2\nenv:\n  shell: powershell.exe\n"
                   "phases:\n  build:\n    commands: [dir]\n")
    phase, code, message = _failed_phase(build)
    assert (phase, code) == ("DOWNLOAD_SOURCE", "YAML_FILE_ERROR")
    assert "powershell.exe" in message
    assert any("Linux shells" in m for m in _log(session, build))


def test_run_as_a_missing_user_fails_the_phase_with_a_clear_reason(session, app_name):
    build = _start(session, app_name, "version: 0.2\nphases:\n  build:\n"
                   "    run-as: no-such-user-x9\n    commands: [echo hi]\n")
    phase, code, message = _failed_phase(build)
    assert (phase, code) == ("BUILD", "COMMAND_EXECUTION_ERROR")
    assert "no-such-user-x9 does not exist" in message
    assert build["buildStatus"] == "FAILED"


def test_run_as_the_current_user_runs(session, app_name):
    build = _start(session, app_name, f"version: 0.2\nrun-as: {getpass.getuser()}\nphases:\n"
                   "  build:\n    commands: [whoami]\n")
    assert build["buildStatus"] == "SUCCEEDED"
    assert getpass.getuser() in [m.strip() for m in _log(session, build)]


def test_secondary_sources_and_artifacts(session, app_name):
    s3, cb = session.client("s3"), session.client("codebuild")
    bucket = f"{app_name}-bucket"
    s3.create_bucket(Bucket=bucket)
    buildspec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                 "      - mkdir -p out/app out/docs\n"
                 "      - cat app.txt $CODEBUILD_SRC_DIR_lib/lib.txt > out/app/both.txt\n"
                 "      - echo manual > out/docs/index.txt\n"
                 "artifacts:\n  files: '**/*'\n  base-directory: out/app\n"
                 "  secondary-artifacts:\n    docs:\n      files: '**/*'\n"
                 "      base-directory: out/docs\n")
    s3.put_object(Bucket=bucket, Key="src/app.zip",
                  Body=make_zip({"app.txt": "app\n", "buildspec.yml": buildspec}))
    s3.put_object(Bucket=bucket, Key="src/lib.zip", Body=make_zip({"lib.txt": "lib\n"}))
    cb.create_project(
        name=app_name, source={"type": "S3", "location": f"{bucket}/src/app.zip"},
        secondarySources=[{"type": "S3", "location": f"{bucket}/src/lib.zip",
                           "sourceIdentifier": "lib"}],
        artifacts={"type": "S3", "location": bucket, "name": "app.zip", "path": "out"},
        secondaryArtifacts=[{"type": "S3", "location": bucket, "name": "docs.zip",
                             "path": "out", "artifactIdentifier": "docs"}],
        environment=dict(ENVIRONMENT), serviceRole=ROLE)
    build_id = cb.start_build(projectName=app_name)["build"]["id"]
    build = wait_for_build(cb, build_id)
    assert build["buildStatus"] == "SUCCEEDED", _failed_phase(build)
    assert build["secondarySources"][0]["sourceIdentifier"] == "lib"
    assert build["secondaryArtifacts"] == [{"location": f"arn:aws:s3:::{bucket}/out/docs.zip",
                                            "artifactIdentifier": "docs"}]
    app = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key="out/app.zip")[
        "Body"].read()))
    assert app.read("both.txt") == b"app\nlib\n"
    docs = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key="out/docs.zip")[
        "Body"].read()))
    assert docs.namelist() == ["index.txt"]


def test_secondary_artifact_missing_from_the_buildspec_fails_upload(session, app_name):
    s3, cb = session.client("s3"), session.client("codebuild")
    bucket = f"{app_name}-bucket"
    s3.create_bucket(Bucket=bucket)
    cb.create_project(
        name=app_name, source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n"
                               "  build:\n    commands: [touch a]\nartifacts:\n  files: a\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        secondaryArtifacts=[{"type": "S3", "location": bucket, "artifactIdentifier": "docs"}],
        environment=dict(ENVIRONMENT), serviceRole=ROLE)
    build_id = cb.start_build(projectName=app_name)["build"]["id"]
    build = wait_for_build(cb, build_id)
    phase, code, message = _failed_phase(build)
    assert (phase, code) == ("UPLOAD_ARTIFACTS", "CLIENT_ERROR")
    assert "secondary artifact docs has no definition" in message


def test_a_secondary_artifact_the_project_does_not_declare_is_said_in_the_log(session, app_name):
    """CodeBuild uploads only declared secondary artifacts; the local AWS says which it skips."""
    build = run_inline_build(session, f"{app_name}-undeclared-secondary", (
        "version: 0.2\nphases:\n  build:\n    commands: [mkdir -p docs, echo hi > docs/a.txt]\n"
        "artifacts:\n  files: ['**/*']\n"
        "  secondary-artifacts:\n    docs:\n      files: ['docs/**/*']\n"))
    assert build["buildStatus"] == "SUCCEEDED"
    said = [line for line in _log(session, build) if "Skipping secondary artifact" in line]
    assert len(said) == 1 and "'docs'" in said[0], said


def test_pip_installs_as_in_codebuilds_image_only_inside_the_sandbox(session, app_name):
    """A CodeBuild image's Python takes `pip install`; a Debian host's refuses (PEP 668). The
    sandbox's system folders vanish with the build, so there the build may install as on
    CodeBuild (PIP_BREAK_SYSTEM_PACKAGES); an unsandboxed build must not touch this machine's."""
    build = _start(session, app_name, "version: 0.2\nphases:\n  build:\n    commands:\n"
                   "      - echo \"pip-system=${PIP_BREAK_SYSTEM_PACKAGES:-unset}\"\n")
    lines = [m.strip() for m in _log(session, build)]
    sandboxed = any("Build sandbox: bubblewrap" in m for m in lines)
    assert ("pip-system=1" if sandboxed else "pip-system=unset") in lines, lines
