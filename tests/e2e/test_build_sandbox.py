"""Builds in a sandbox, tried from outside (issue 22 items 2-4, issue 16 items 1 and 7).

A real `runbook local start` process, started with an environment that holds the operator's
AWS keys and tokens (markers), runs buildspecs that try to read them, leave daemons behind,
write into system folders and pack files from outside their source; the AWS CLI inside the
build uses the build's temporary credentials, which the test then tries after the build.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError
from helpers import (
    OPERATOR_MARKERS,
    daemon_command,
    exported_client,
    local_as_operator,
    processes_with,
    wait_for_build,
    wait_until,
)

from runbook_lib.local.codebuild import sandbox

ROLE = "arn:aws:iam::123456789012:role/build-role"
TIMEOUT_SCALE = "0.02"  # a 5-minute build timeout lasts 6 s

pytestmark = pytest.mark.skipif(not sandbox.support().available,
                                reason=f"no sandbox here: {sandbox.support().reason}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("sandbox-state")
    environ = {**os.environ, **OPERATOR_MARKERS, "RUNBOOK_LOCAL_TIMEOUT_SCALE": TIMEOUT_SCALE}
    with local_as_operator(state, environ) as exports:
        yield state, exports


_client = exported_client


def _build(exports, commands, *, start=True, artifacts=None, cache=None, extra=None,
           timeout=60, **project):
    """A project running ``commands`` (and ``extra`` buildspec sections); the build, waited."""
    cb = _client(exports, "codebuild")
    name = "sbx-" + uuid.uuid4().hex[:8]
    spec = {"version": 0.2, "phases": {"build": {"commands": commands}}, **(extra or {})}
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": yaml.safe_dump(spec)},
                      artifacts=artifacts or {"type": "NO_ARTIFACTS"}, serviceRole=ROLE,
                      cache=cache or {"type": "NO_CACHE"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                   "computeType": "BUILD_GENERAL1_SMALL"}, **project)
    build_id = cb.start_build(projectName=name)["build"]["id"]
    if not start:
        return build_id
    return _wait(exports, build_id, timeout)


def _wait(exports, build_id, timeout=60):
    return wait_for_build(_client(exports, "codebuild"), build_id, timeout=timeout)


def _log_so_far(exports, build) -> str:
    """What the build's log holds now (the build may still run)."""
    events = _client(exports, "logs").get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"],
        startFromHead=True)["events"]
    return "\n".join(e["message"] for e in events)


def _log(exports, build) -> str:
    """The build's log, once its last phase is in it (the log is flushed after the record)."""
    return wait_until(lambda: _log_so_far(exports, build),
                      lambda text: "Phase complete: UPLOAD_ARTIFACTS" in text,
                      timeout=15, interval=0.3, what=f"the end of build {build['id']}'s log")


def _context(build, phase):
    found = next(p for p in build["phases"] if p["phaseType"] == phase)
    return found["phaseStatus"], (found.get("contexts") or [{}])[0].get("message", "")


# -- what a build sees ---------------------------------------------------------------------

def test_a_build_sees_none_of_the_servers_environment(stack):
    _state, exports = stack
    build = _build(exports, ["env", "tr '\\0' '\\n' < /proc/1/environ",
                             "tr '\\0' '\\n' < /proc/$PPID/environ", "ps -ef"])
    text = _log(exports, build)
    assert build["buildStatus"] == "SUCCEEDED", text
    for name, value in OPERATOR_MARKERS.items():
        assert value not in text, f"{name} reached the build"
    assert exports["AWS_ACCESS_KEY_ID"] not in text  # the operator's own key pair
    assert exports["AWS_SECRET_ACCESS_KEY"] not in text
    assert re.search(r"^CODEBUILD_SRC_DIR=/codebuild/output/src\d+/src$", text, re.M), text
    assert re.search(r"^AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127\.0\.0\.1:\d+/_runbook/"
                     r"build-credentials/\w+$", text, re.M)
    assert "HOME=/root" in text and "runbook_lib.app.cli" not in text  # no server process


def test_a_build_cannot_read_the_operators_home_or_the_state_folder(stack):
    state, exports = stack
    npmrc = Path.home() / ".npmrc"
    checks = [f"test ! -e {state}/credentials.json", f"test ! -e {state}",
              f"! ls {Path.home()}/.aws", "! ls ~root/.aws", f"test ! -e {Path.home()}/.bashrc",
              "test ! -e \"$CODEBUILD_SRC_DIR/../../../../../../credentials.json\"",
              f"test ! -e {npmrc}", "test ! -s /etc/shadow"]
    build = _build(exports, checks)
    assert build["buildStatus"] == "SUCCEEDED", _log(exports, build)
    assert (state / "credentials.json").exists()  # it is there, outside the sandbox


def test_devdependency_commands_run_from_node_modules_bin(stack):
    _state, exports = stack
    build = _build(exports, [
        "mkdir -p node_modules/.bin",
        "printf '#!/bin/sh\\necho devdep-ran-$1\\n' > node_modules/.bin/mytool",
        "chmod +x node_modules/.bin/mytool",
        "printf '{\"name\":\"x\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"mytool npm\"}}'"
        " > package.json",
        "npm test", "npx --no-install mytool npx",
        "PATH=$CODEBUILD_SRC_DIR/node_modules/.bin:$PATH mytool path"])
    text = _log(exports, build)
    assert build["buildStatus"] == "SUCCEEDED", text
    assert all(f"devdep-ran-{how}" in text for how in ("npm", "npx", "path")), text


# -- processes -------------------------------------------------------------------------------

def test_a_daemon_is_gone_when_the_build_ends(stack):
    _state, exports = stack
    marker = "runbook-daemon-end-" + uuid.uuid4().hex[:6]
    build = _build(exports, [daemon_command(marker), "sleep 1", f"pgrep -f {marker}"])
    assert build["buildStatus"] == "SUCCEEDED", _log(exports, build)
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)


def test_a_daemon_is_gone_after_stop_build(stack):
    _state, exports = stack
    marker = "runbook-daemon-stop-" + uuid.uuid4().hex[:6]
    build_id = _build(exports, [daemon_command(marker), "sleep 600"], start=False)
    wait_until(lambda: processes_with(marker), what="the build's daemon", timeout=60)
    _client(exports, "codebuild").stop_build(id=build_id)
    assert _wait(exports, build_id)["buildStatus"] == "STOPPED"
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)


def test_a_daemon_is_gone_after_the_timeout(stack):
    _state, exports = stack
    marker = "runbook-daemon-timeout-" + uuid.uuid4().hex[:6]
    build_id = _build(exports, [daemon_command(marker), "sleep 600"], start=False,
                      timeoutInMinutes=5)
    wait_until(lambda: processes_with(marker), what="the build's daemon", timeout=60)
    assert _wait(exports, build_id)["buildStatus"] == "TIMED_OUT"
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)


def _wheel(name: str) -> bytes:
    """A minimal pure-Python wheel (pip installs it without network or build tools)."""
    module, dist = name.replace("-", "_"), f"{name.replace('-', '_')}-1.dist-info"
    files = {f"{module}/__init__.py": "", f"{dist}/METADATA":
             f"Metadata-Version: 2.1\nName: {name}\nVersion: 1\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
             "Tag: py3-none-any\n"}
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in [*files, f"{dist}/RECORD"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return buffer.getvalue()


BASE_PYTHON = "\"$(python3 -c 'import sys; print(sys.base_prefix)')/bin/python3\""


def test_installs_and_writes_into_system_folders_vanish(stack):
    _state, exports = stack
    mark = "runbook-overlay-" + uuid.uuid4().hex[:6]
    wheel = f"/tmp/{mark.replace('-', '_')}-1-py3-none-any.whl"
    first = _build(exports, [
        f"echo x > /usr/local/bin/{mark}", f"echo x > /etc/{mark}",
        f"echo {base64.b64encode(_wheel(mark)).decode()} | base64 -d > {wheel}",
        f"python3 -m pip install --no-index -q {wheel}",  # the venv on PATH
        f"{BASE_PYTHON} -m pip install --no-index -q {wheel}",  # its interpreter (pyenv's)
        f"{BASE_PYTHON} -m pip install --user --no-index -q --force-reinstall {wheel}",
        f"python3 -m pip show {mark}", f"{BASE_PYTHON} -m pip show {mark}",
        f"test -e /usr/local/bin/{mark}"])
    assert first["buildStatus"] == "SUCCEEDED", _log(exports, first)
    second = _build(exports, [f"test ! -e /usr/local/bin/{mark}", f"test ! -e /etc/{mark}",
                              f"! python3 -m pip show {mark}",
                              f"! {BASE_PYTHON} -m pip show {mark}"])
    assert second["buildStatus"] == "SUCCEEDED", _log(exports, second)
    assert not Path(f"/usr/local/bin/{mark}").exists() and not Path(f"/etc/{mark}").exists()
    base = Path(sys.base_prefix) / "bin" / "python3"
    for python in (sys.executable, str(base)):
        shown = subprocess.run([python, "-m", "pip", "show", mark], capture_output=True)
        assert shown.returncode != 0


# -- packing ---------------------------------------------------------------------------------

STATE_FROM_SRC = "../../../../../.."  # src -> srcN -> output -> codebuild -> build -> builds


def test_an_artifact_link_to_the_key_pair_is_not_packed(stack):
    _state, exports = stack
    s3 = _client(exports, "s3")
    bucket = "sbx-art-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    build = _build(exports, ["echo app > app.txt",
                             f"ln -s {STATE_FROM_SRC}/credentials.json creds.json",
                             f"ln -s {STATE_FROM_SRC} state"],
                   artifacts={"type": "S3", "location": bucket, "name": "out.zip"},
                   extra={"artifacts": {"files": ["**/*"]}})
    assert build["buildStatus"] == "SUCCEEDED", _log(exports, build)
    data = s3.get_object(Bucket=bucket, Key="out.zip")["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["app.txt"]
    assert exports["AWS_SECRET_ACCESS_KEY"].encode() not in data


def test_a_base_directory_out_of_the_source_fails_the_upload(stack):
    _state, exports = stack
    s3 = _client(exports, "s3")
    bucket = "sbx-base-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    build = _build(exports, ["mkdir -p ../src-evil && echo x > ../src-evil/x"],
                   artifacts={"type": "S3", "location": bucket, "name": "out.zip"},
                   extra={"artifacts": {"files": ["**/*"], "base-directory": "../src-evil"}})
    status, message = _context(build, "UPLOAD_ARTIFACTS")
    assert build["buildStatus"] == "FAILED" and status == "FAILED"
    assert "outside the source" in message


def test_a_cache_path_out_of_the_home_caches_nothing_from_outside(stack):
    state, exports = stack
    s3 = _client(exports, "s3")
    bucket = "sbx-cache-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    build = _build(exports, ["mkdir -p ~/.npm && echo ok > ~/.npm/ok",
                             f"ln -s {state}/credentials.json ~/.npm/creds"],
                   cache={"type": "S3", "location": f"{bucket}/cache"},
                   extra={"cache": {"paths": [f"/root/../../..{state}/**/*",
                                              "/root/.npm/**/*", "../**/*"]}})
    assert build["buildStatus"] == "SUCCEEDED", _log(exports, build)
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames() == ["abs/root/.npm/ok"]


# -- temporary credentials -------------------------------------------------------------------

def test_the_build_calls_aws_with_temporary_credentials_refused_after_it(stack):
    _state, exports = stack
    s3 = _client(exports, "s3")
    bucket = "sbx-creds-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    fetch = ("python3 -c \"import base64,os,urllib.request as u; r=u.Request(os.environ["
             "'AWS_CONTAINER_CREDENTIALS_FULL_URI'], headers={'Authorization': os.environ["
             "'AWS_CONTAINER_AUTHORIZATION_TOKEN']}); print('CREDS', base64.b64encode("
             "u.urlopen(r).read()).decode())\"")
    build = _build(exports, ["aws sts get-caller-identity", "aws s3 ls",
                             f"echo from-build | aws s3 cp - s3://{bucket}/from-build.txt",
                             fetch])
    text = _log(exports, build)
    assert build["buildStatus"] == "SUCCEEDED", text
    assert s3.get_object(Bucket=bucket, Key="from-build.txt")["Body"].read() == b"from-build\n"
    creds = json.loads(base64.b64decode(re.search(r"CREDS (\S+)", text).group(1)))
    assert creds["AccessKeyId"].startswith("ASIA") and creds["Token"]
    assert creds["AccessKeyId"] != exports["AWS_ACCESS_KEY_ID"]
    stolen = _client(exports, "s3", aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["Token"])
    with pytest.raises(ClientError) as refused:
        stolen.list_buckets()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_the_credentials_endpoint_refuses_a_wrong_token_while_the_build_runs(stack):
    _state, exports = stack
    build_id = _build(exports, ["env | grep ^AWS_CONTAINER_CREDENTIALS_FULL_URI", "sleep 600"],
                      start=False)
    cb = _client(exports, "codebuild")
    try:
        def uri():
            build = cb.batch_get_builds(ids=[build_id])["builds"][0]
            if build.get("currentPhase") != "BUILD":
                return None
            found = re.search(r"(http://\S+/_runbook/build-credentials/\w+)",
                              _log_so_far(exports, build))
            return found and found.group(1)

        url = wait_until(uri, what="the credentials URI in the log", timeout=60)
        for headers in ({}, {"Authorization": "wrong"},
                        {"Authorization": f"Bearer {exports['AWS_SECRET_ACCESS_KEY']}"}):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
            assert err.value.code == 403
    finally:
        cb.stop_build(id=build_id)
        _wait(exports, build_id)
