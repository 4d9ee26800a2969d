"""The build runner executes buildspecs for real: CodeBuild's phase rules, one shell per build,
variables and secrets (masked in CloudWatch Logs), artifacts, cache, timeout, stop, queueing."""

import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError
from helpers import daemon_command, make_zip, processes_with, wait_for_build, wait_until

from runbook_lib.local.codebuild.builds import CodeBuildBuilds

ROLE = "arn:aws:iam::123456789012:role/build-role"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
               "computeType": "BUILD_GENERAL1_SMALL"}


def _buildspec(phases, **top):
    return yaml.safe_dump({"version": 0.2, **top, "phases": phases}, sort_keys=False)


def _project(cb, name, buildspec=None, **extra):
    body = {"name": name,
            "source": {"type": "NO_SOURCE", "buildspec": buildspec or _buildspec(
                {"build": {"commands": ["true"]}})},
            "artifacts": {"type": "NO_ARTIFACTS"}, "environment": dict(ENVIRONMENT),
            "serviceRole": ROLE}
    body.update(extra)
    return cb.create_project(**body)["project"]


def _run(session, name, phases, **top):
    cb = session.client("codebuild")
    _project(cb, name, _buildspec(phases, **top))
    return wait_for_build(cb, cb.start_build(projectName=name)["build"]["id"])


def _phases(build):
    return [(p["phaseType"], p.get("phaseStatus")) for p in build["phases"]
            if p["phaseType"] not in ("SUBMITTED", "QUEUED")]


def _log(session, build):
    logs = session.client("logs")
    events = logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                 logStreamName=build["logs"]["streamName"],
                                 startFromHead=True)["events"]
    return [e["message"] for e in events]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


OK, FAIL = ["echo ok"], ["echo about to fail", "false", "echo never"]
HEAD = [("PROVISIONING", "SUCCEEDED"), ("DOWNLOAD_SOURCE", "SUCCEEDED")]
TAIL = [("FINALIZING", "SUCCEEDED"), ("COMPLETED", None)]


@pytest.mark.parametrize("case, phases, expected", [
    ("install fails: straight to FINALIZING",
     {"install": {"commands": FAIL}, "build": {"commands": OK}},
     [("INSTALL", "FAILED")]),
    ("pre_build fails: straight to FINALIZING",
     {"pre_build": {"commands": FAIL}, "build": {"commands": OK}},
     [("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "FAILED")]),
    ("build fails: post_build and upload still run",
     {"build": {"commands": FAIL}, "post_build": {"commands": OK}},
     [("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "SUCCEEDED"), ("BUILD", "FAILED"),
      ("POST_BUILD", "SUCCEEDED"), ("UPLOAD_ARTIFACTS", "SUCCEEDED")]),
    ("post_build fails: upload still runs",
     {"build": {"commands": OK}, "post_build": {"commands": FAIL}},
     [("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "SUCCEEDED"), ("BUILD", "SUCCEEDED"),
      ("POST_BUILD", "FAILED"), ("UPLOAD_ARTIFACTS", "SUCCEEDED")]),
    ("on-failure ABORT in build: no post_build",
     {"build": {"on-failure": "ABORT", "commands": FAIL}, "post_build": {"commands": OK}},
     [("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "SUCCEEDED"), ("BUILD", "FAILED")]),
    ("on-failure CONTINUE in pre_build: build runs",
     {"pre_build": {"on-failure": "CONTINUE", "commands": FAIL}, "build": {"commands": OK}},
     [("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "FAILED"), ("BUILD", "SUCCEEDED"),
      ("POST_BUILD", "SUCCEEDED"), ("UPLOAD_ARTIFACTS", "SUCCEEDED")]),
])
def test_phase_rules_after_a_failure(session, app_name, case, phases, expected):
    build = _run(session, app_name, phases)
    assert _phases(build) == HEAD + expected + TAIL, case
    assert build["buildStatus"] == "FAILED"
    failed = next(p for p in build["phases"] if p.get("phaseStatus") == "FAILED")
    assert failed["contexts"] == [{"statusCode": "COMMAND_EXECUTION_ERROR",
                                   "message": "Error while executing command: false. "
                                              "Reason: exit status 1"}]
    assert "never" not in _log(session, build)


def test_a_bad_buildspec_fails_download_source(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "version: 0.2\nphases:\n  bild:\n    commands: [ls]\n")
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert _phases(build) == [("PROVISIONING", "SUCCEEDED"), ("DOWNLOAD_SOURCE", "FAILED")] \
        + TAIL
    assert build["phases"][3]["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"


def test_variables_and_directory_persist_across_commands_and_phases(session, app_name):
    build = _run(session, app_name, {
        "install": {"commands": ["export GREETING=hello", "mkdir -p sub && cd sub",
                                 "COUNT=1"]},
        "build": {"commands": ["echo \"$GREETING from $(basename $PWD) count=$COUNT\"",
                               "echo succeeding=$CODEBUILD_BUILD_SUCCEEDING"]},
    })
    assert build["buildStatus"] == "SUCCEEDED"
    lines = _log(session, build)
    assert "hello from sub count=1" in lines
    assert "succeeding=1" in lines


def test_finally_runs_after_a_failed_command_and_the_build_sees_the_failure(session, app_name):
    build = _run(session, app_name, {
        "build": {"commands": ["false", "echo skipped"], "finally": ["echo cleanup"]},
        "post_build": {"commands": ["echo succeeding=$CODEBUILD_BUILD_SUCCEEDING"]},
    })
    lines = _log(session, build)
    assert "cleanup" in lines and "skipped" not in lines
    assert "succeeding=0" in lines
    assert build["buildStatus"] == "FAILED"


def test_on_failure_retry_runs_the_phase_again(session, app_name):
    build = _run(session, app_name, {"build": {"on-failure": "RETRY-2", "commands": [
        "echo attempt >> $CODEBUILD_SRC_DIR/attempts", "test $(wc -l < attempts) -ge 3"]}})
    assert build["buildStatus"] == "SUCCEEDED"
    assert sum("will be retried" in line for line in _log(session, build)) == 2


def test_log_lines_use_codebuild_format(session, app_name):
    build = _run(session, app_name, {"pre_build": {"commands": ["echo one"]},
                                     "build": {"commands": ["false"]}})
    lines = _log(session, build)
    stamp = r"\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} "
    for expected in ("Entering phase PRE_BUILD", "Running command echo one",
                     "Phase complete: BUILD State: FAILED",
                     "Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while "
                     "executing command: false. Reason: exit status 1"):
        assert any(re.fullmatch(stamp + re.escape(expected), line) for line in lines), expected
    assert lines.index("one") > next(i for i, x in enumerate(lines) if x.endswith("echo one"))
    assert build["logs"]["groupName"] == f"/aws/codebuild/{app_name}"
    assert build["logs"]["streamName"] == build["id"].split(":")[1]


def test_disabled_cloudwatch_logs_write_nothing(session, app_name):
    cb = session.client("codebuild")
    group = f"/custom/{app_name}"
    _project(cb, app_name, logsConfig={"cloudWatchLogs": {"status": "DISABLED",
                                                          "groupName": group}})
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED"
    assert "groupName" not in build["logs"]
    groups = session.client("logs").describe_log_groups(logGroupNamePrefix=group)
    assert groups["logGroups"] == []


def test_parameter_store_and_secrets_are_resolved_and_masked(session, app_name):
    ssm, sm = session.client("ssm"), session.client("secretsmanager")
    ssm.put_parameter(Name=f"/{app_name}/token", Value="param-value-123", Type="SecureString")
    sm.create_secret(Name=f"{app_name}/db", SecretString=json.dumps({"password": "pw-xyz-789"}))
    cb = session.client("codebuild")
    _project(cb, app_name, _buildspec(
        {"build": {"commands": ["echo token=$TOKEN", "echo password=$DB_PASSWORD",
                                "echo project=$FROM_PROJECT", "export PLAIN=visible",
                                "echo \"$DB_PASSWORD\" | wc -c"]}},
        env={"parameter-store": {"TOKEN": f"/{app_name}/token"},
             "secrets-manager": {"DB_PASSWORD": f"{app_name}/db:password"},
             "exported-variables": ["PLAIN"]}),
        environment={**ENVIRONMENT, "environmentVariables": [
            {"name": "FROM_PROJECT", "value": f"/{app_name}/token",
             "type": "PARAMETER_STORE"}]})
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    lines = _log(session, build)
    assert {"token=***", "password=***", "project=***", "11"} <= set(lines)
    text = "\n".join(lines) + json.dumps(build, default=str)
    assert "param-value-123" not in text and "pw-xyz-789" not in text
    assert build["exportedEnvironmentVariables"] == [{"name": "PLAIN", "value": "visible"}]


def test_a_missing_parameter_fails_download_source(session, app_name):
    build = _run(session, app_name, {"build": {"commands": ["true"]}},
                 env={"parameter-store": {"X": f"/{app_name}/missing"}})
    assert _phases(build)[1] == ("DOWNLOAD_SOURCE", "FAILED")
    assert build["phases"][3]["contexts"][0]["statusCode"] == "Decrypted Variables Error"


@pytest.mark.parametrize("case, artifacts, expected", [
    ("everything", {"files": ["**/*"]},
     ["buildspec.yml", "dist/app.js", "dist/maps/app.js.map", "dist/notes.txt", "src/a.py"]),
    ("base-directory", {"files": ["**/*"], "base-directory": "dist"},
     ["app.js", "maps/app.js.map", "notes.txt"]),
    ("glob and exclude", {"files": ["dist/**/*"], "exclude-paths": ["**/*.map"]},
     ["dist/app.js", "dist/notes.txt"]),
    ("one folder level", {"files": ["dist/*.js", "src/*"]}, ["dist/app.js", "src/a.py"]),
    ("discard-paths", {"files": ["dist/**/*"], "discard-paths": "yes"},
     ["app.js", "app.js.map", "notes.txt"]),
])
def test_artifacts_follow_the_buildspec(session, app_name, case, artifacts, expected):
    s3, cb = session.client("s3"), session.client("codebuild")
    s3.create_bucket(Bucket=app_name)
    spec = _buildspec({"build": {"commands": [
        "mkdir -p dist/maps", "echo js > dist/app.js", "echo map > dist/maps/app.js.map",
        "echo n > dist/notes.txt"]}}, artifacts=artifacts)
    s3.put_object(Bucket=app_name, Key="in/source.zip",
                  Body=make_zip({"buildspec.yml": spec, "src/a.py": "print(1)\n"}))
    _project(cb, app_name, source={"type": "S3", "location": f"{app_name}/in/source.zip"},
             artifacts={"type": "S3", "location": app_name, "path": "out",
                        "name": "result.zip", "packaging": "ZIP"})
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["artifacts"]["location"] == f"arn:aws:s3:::{app_name}/out/result.zip"
    body = s3.get_object(Bucket=app_name, Key="out/result.zip")["Body"].read()
    assert sorted(zipfile.ZipFile(io.BytesIO(body)).namelist()) == expected, case


def test_artifact_name_from_the_buildspec_and_no_match_fails_upload(session, app_name):
    s3, cb = session.client("s3"), session.client("codebuild")
    s3.create_bucket(Bucket=app_name)
    _project(cb, app_name, _buildspec({"build": {"commands": ["echo x > out.txt"]}},
                                      artifacts={"files": ["out.txt"],
                                                 "name": "named-$CODEBUILD_BUILD_NUMBER.zip"}),
             artifacts={"type": "S3", "location": app_name, "name": "default.zip",
                        "overrideArtifactName": True})
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert build["artifacts"]["location"] == f"arn:aws:s3:::{app_name}/named-1.zip"
    s3.head_object(Bucket=app_name, Key="named-1.zip")

    cb.update_project(name=app_name, source={"type": "NO_SOURCE", "buildspec": _buildspec(
        {"build": {"commands": ["true"]}}, artifacts={"files": ["nothing/*"]})})
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert _phases(build)[-3] == ("UPLOAD_ARTIFACTS", "FAILED")
    assert build["buildStatus"] == "FAILED"


@pytest.mark.parametrize("cache_type", ["LOCAL", "S3"])
def test_cache_is_restored_in_the_next_build(session, app_name, cache_type):
    cb, s3 = session.client("codebuild"), session.client("s3")
    s3.create_bucket(Bucket=app_name)
    cache = ({"type": "LOCAL", "modes": ["LOCAL_CUSTOM_CACHE"]} if cache_type == "LOCAL"
             else {"type": "S3", "location": f"{app_name}/cache"})
    _project(cb, app_name, _buildspec(
        {"build": {"commands": ["if [ -f deps/lib.txt ]; then echo restored $(cat deps/lib.txt);"
                                " else mkdir -p deps && echo v1 > deps/lib.txt; fi"]}},
        cache={"paths": ["deps/**/*"]}), cache=cache)
    first = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    second = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert "restored v1" not in _log(session, first)
    assert "restored v1" in _log(session, second)


def test_home_cache_paths_use_the_builds_own_home(session, app_name):
    """CodeBuild's ~/.npm-style caches work, and the machine's real home is never touched."""
    cb = session.client("codebuild")
    marker = f".runbook-cache-test-{app_name}"
    _project(cb, app_name, _buildspec(
        {"build": {"commands": [
            f"if [ -f ~/{marker}/dep.txt ]; then echo restored $(cat ~/{marker}/dep.txt);"
            f" else mkdir -p ~/{marker} && echo v1 > ~/{marker}/dep.txt; fi",
            "echo home is $HOME"]}},
        cache={"paths": [f"/root/{marker}/**/*"]}),
        cache={"type": "LOCAL", "modes": ["LOCAL_CUSTOM_CACHE"]})
    first = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    second = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    assert "restored v1" in _log(session, second)
    assert "home is /root" in _log(session, first)  # CodeBuild's HOME, the sandbox's own
    assert not (Path.home() / marker).exists()
    assert not (Path("/root") / marker).exists()


def test_timeout_kills_the_build(session, app_name, monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCAL_TIMEOUT_SCALE", "0.005")  # 5 minutes -> 1.5 s
    marker = f"runbook-daemon-{app_name}"
    cb = session.client("codebuild")
    _project(cb, app_name, _buildspec({"build": {"commands": [
        daemon_command(marker), "sleep 120 & wait"]}}), timeoutInMinutes=5)
    build_id = cb.start_build(projectName=app_name)["build"]["id"]
    wait_until(lambda: processes_with(marker), what="the build's daemon", timeout=60)
    build = wait_for_build(cb, build_id)
    assert build["buildStatus"] == "TIMED_OUT"
    assert ("BUILD", "TIMED_OUT") in _phases(build)
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)


def test_stop_build_kills_every_process_of_the_build(session, app_name):
    marker = f"runbook-daemon-{app_name}"
    cb = session.client("codebuild")
    _project(cb, app_name, _buildspec({"build": {"commands": [
        daemon_command(marker), "sleep 120 & wait"]}}))
    build_id = cb.start_build(projectName=app_name)["build"]["id"]
    wait_until(lambda: processes_with(marker), what="the build's daemon", timeout=60)
    cb.stop_build(id=build_id)
    build = wait_for_build(cb, build_id)
    assert build["buildStatus"] == "STOPPED"
    assert ("BUILD", "STOPPED") in _phases(build)
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)


def test_builds_over_the_limit_wait_queued(session, app_name, local_aws, monkeypatch):
    service = local_aws.app.context.peers.get(CodeBuildBuilds)
    monkeypatch.setattr(service, "max_builds", 1)
    cb = session.client("codebuild")
    _project(cb, app_name, _buildspec({"build": {"commands": ["sleep 30"]}}))
    first = cb.start_build(projectName=app_name)["build"]["id"]
    wait_for_build(cb, first, until=lambda b: b["currentPhase"] == "BUILD")
    second = cb.start_build(projectName=app_name)["build"]["id"]
    assert wait_for_build(cb, second, until=lambda b: True)["currentPhase"] == "QUEUED"
    cb.stop_build(id=first)
    wait_for_build(cb, second, until=lambda b: b["currentPhase"] == "BUILD")
    cb.stop_build(id=second)
    assert wait_for_build(cb, second)["buildStatus"] == "STOPPED"


def test_aws_cli_inside_a_build_talks_to_the_local_aws(session, app_name, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    session.client("s3").create_bucket(Bucket=app_name)
    build = _run(session, app_name, {"build": {"commands": [
        f"echo hi | aws s3 cp - s3://{app_name}/from-build.txt"]}})
    assert build["buildStatus"] == "SUCCEEDED", "\n".join(_log(session, build))
    got = session.client("s3").get_object(Bucket=app_name, Key="from-build.txt")
    assert got["Body"].read() == b"hi\n"


def test_a_failing_event_put_does_not_fail_the_build(session, app_name, local_aws, monkeypatch):
    events = local_aws.app.context.aws.client("events", "us-east-1")

    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": "InternalException", "Message": "down"}},
                          "PutEvents")

    monkeypatch.setattr(events, "put_events", refuse)
    build = _run(session, app_name, {"build": {"commands": ["true"]}})
    assert build["buildStatus"] == "SUCCEEDED"
