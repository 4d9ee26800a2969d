"""State is crash-safe and never silently lost: servers in subprocesses, killed and restarted."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from full_disk import fill, small_tmpfs
from helpers import processes_with, wait_until

from runbook_lib.core import local_endpoint
from runbook_lib.core.errors import LocalAwsError
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codebuild.build_paths import work_folder
from runbook_lib.local.server import client, process
from runbook_lib.local.server.journal import JOURNAL_FILE

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
PIPELINES = "codepipeline-pipelines.json"
PROJECTS = "codebuild-projects.json"


def _session(status) -> AwsSession:
    return AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)


def _buckets(status) -> set[str]:
    return {b["Name"] for b in _session(status).client("s3").list_buckets()["Buckets"]}


def _project(name: str) -> dict:
    return {"name": name, "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2\n"},
            "artifacts": {"type": "NO_ARTIFACTS"},
            "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                            "computeType": "BUILD_GENERAL1_SMALL"},
            "serviceRole": "arn:aws:iam::123456789012:role/r"}


def test_a_torn_journal_tail_is_cut_reported_and_never_appended_to(tmp_path):
    status = process.start(tmp_path)
    _session(status).client("s3").create_bucket(Bucket="kept-bucket")
    process.stop(tmp_path)
    with open(tmp_path / JOURNAL_FILE, "ab") as fh:
        fh.write(b'{"method": "PUT", "path": "/torn-buck')  # power lost mid-write
    status = process.start(tmp_path)
    try:
        assert "kept-bucket" in _buckets(status)
        shown = subprocess.run([*RUNBOOK, "local", "status", "--state-dir", str(tmp_path)],
                               capture_output=True, text=True, timeout=60)
        assert "torn" in shown.stdout, shown.stdout
        _session(status).client("s3").create_bucket(Bucket="after-the-tear")
    finally:
        process.stop(tmp_path)
    assert b"torn-buck" in (tmp_path / (JOURNAL_FILE + ".torn")).read_bytes()
    status = process.start(tmp_path)
    try:
        assert {"kept-bucket", "after-the-tear"} <= _buckets(status)
    finally:
        process.stop(tmp_path)


@pytest.mark.parametrize("store", [PIPELINES, PROJECTS])
def test_a_truncated_store_stops_the_server_and_is_never_emptied(tmp_path, store):
    status = process.start(tmp_path)
    cb = _session(status).client("codebuild")
    cb.create_project(**_project("first"))
    cb.create_project(**_project("second"))  # a second save: the first stays as NAME.bak
    process.stop(tmp_path)
    path = tmp_path / store
    damaged = (path.read_bytes() if path.exists() else b'{"us-east-1": {"p": 1}}')[:9]
    path.write_bytes(damaged)
    with pytest.raises(LocalAwsError) as caught:
        process.start(tmp_path, timeout=30)
    assert str(path) in str(caught.value) and "runbook local reset" in str(caught.value)
    assert path.read_bytes() == damaged  # left as it was for the operator
    if store == PROJECTS:
        os.replace(tmp_path / (store + ".bak"), path)  # the way out the message names
        status = process.start(tmp_path)
        try:
            names = _session(status).client("codebuild").list_projects()["projects"]
            assert "first" in names
        finally:
            process.stop(tmp_path)


def test_a_second_server_on_one_state_folder_is_refused_naming_the_first(tmp_path):
    first = process.start(tmp_path)
    try:
        second = subprocess.run([*RUNBOOK, "local", "serve", "--port", "0", "--state-dir",
                                 str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"pid {first.pid}" in second.stderr
        assert local_endpoint.read_status(tmp_path).pid == first.pid  # its server.json untouched
        assert local_endpoint.read_status(tmp_path).alive
    finally:
        process.stop(tmp_path)


def test_the_state_folder_and_its_files_are_the_operator_s_alone(tmp_path):
    state = tmp_path / "state"
    status = process.start(state)
    try:
        _session(status).client("secretsmanager").create_secret(Name="s", SecretString="v")
        _session(status).client("codebuild").create_project(**_project("perm"))
    finally:
        process.stop(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("credentials.json", JOURNAL_FILE, PROJECTS, "server.log"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name


def _load(status, acknowledged: list[str], stop: threading.Event) -> None:
    """Create buckets and projects as fast as possible; record what the server acknowledged."""
    session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
    config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5)
    s3 = session._boto.client("s3", endpoint_url=status.endpoint_url, config=config)
    cb = session._boto.client("codebuild", endpoint_url=status.endpoint_url, config=config)
    n = 0
    while not stop.is_set():
        n += 1
        try:
            s3.create_bucket(Bucket=f"load-{threading.get_ident() % 1000}-{n}")
            acknowledged.append(f"bucket:load-{threading.get_ident() % 1000}-{n}")
            cb.create_project(**_project(f"load-{threading.get_ident() % 1000}-{n}"))
            acknowledged.append(f"project:load-{threading.get_ident() % 1000}-{n}")
        except (BotoCoreError, ClientError, OSError):
            return


@pytest.mark.slow  # three fault rounds under load
@pytest.mark.parametrize("round_", range(3))
def test_kill_9_under_load_loses_no_acknowledged_write(tmp_path, round_):
    status = process.start(tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()
    workers = [threading.Thread(target=_load, args=(status, acknowledged, stop))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    wait_until(lambda: acknowledged, timeout=60, what="the first acknowledged write")
    # then a point in the load, random but seeded by the round so a red run can be replayed
    time.sleep(random.Random(round_).uniform(0.1, 1.5))
    os.kill(status.pid, signal.SIGKILL)
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    assert acknowledged, "the load made no call before the kill"
    status = process.start(tmp_path)
    try:
        buckets = _buckets(status)
        cb = _session(status).client("codebuild")
        projects = {p for page in cb.get_paginator("list_projects").paginate()
                    for p in page["projects"]}
        missing = [a for a in acknowledged
                   if a.split(":")[1] not in (buckets if a.startswith("bucket") else projects)]
        assert not missing
        assert json.loads((tmp_path / "server.json").read_text())["pid"] == status.pid
    finally:
        process.stop(tmp_path)


def _clients(status, *services: str) -> list:
    """Clients that do not retry: a refusal is seen as it is, not retried into a success."""
    session = _session(status)
    config = Config(retries={"max_attempts": 1})
    return [session._boto.client(name, endpoint_url=status.endpoint_url, region_name="us-east-1",
                                 config=config) for name in services]


def _unavailable(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert "free space" in error["Message"], error
    return error["Code"]


def test_a_full_disk_refuses_with_an_aws_error_changes_nothing_and_a_retry_succeeds(tmp_path):
    with small_tmpfs(tmp_path / "disk") as disk:
        state = disk / "state"
        status = process.start(state)
        try:
            cb, s3, sns = _clients(status, "codebuild", "s3", "sns")
            s3.create_bucket(Bucket="full-disk")
            filler = fill(disk)
            body = os.urandom(16384)  # a journal entry that needs fresh pages
            assert _unavailable(lambda: cb.create_project(**_project("full"))) == \
                "ServiceUnavailable"  # an extension's store (JSON protocol)
            assert _unavailable(lambda: s3.put_object(Bucket="full-disk", Key="k", Body=body)) == \
                "ServiceUnavailable"  # the moto journal (REST-XML)
            assert _unavailable(lambda: sns.create_topic(Name="t" * 200, Tags=[
                {"Key": f"k{i}", "Value": "v" * 200} for i in range(40)])) == \
                "ServiceUnavailable"  # the moto journal (query)
            assert cb.list_projects()["projects"] == []  # memory was not ahead of disk
            assert "Contents" not in s3.list_objects_v2(Bucket="full-disk")
            assert sns.list_topics()["Topics"] == []
            filler.unlink()
            cb.create_project(**_project("full"))  # the retry: no AlreadyExists
            s3.put_object(Bucket="full-disk", Key="k", Body=body)
        finally:
            process.stop(state)
        status = process.start(state)  # a restart shows exactly what was acknowledged
        try:
            cb, s3, sns = _clients(status, "codebuild", "s3", "sns")
            assert cb.list_projects()["projects"] == ["full"]
            assert s3.get_object(Bucket="full-disk", Key="k")["Body"].read() == body
            assert sns.list_topics()["Topics"] == []
        finally:
            process.stop(state)


def _git_repo(folder) -> None:
    folder.mkdir()
    for args in (["init", "-q", "-b", "main"], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                "commit", "-q", "--allow-empty", "-m", "one"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_a_full_disk_refuses_start_build_and_a_repo_then_the_retry_succeeds(tmp_path):
    repo = tmp_path / "repo"
    _git_repo(repo)
    with small_tmpfs(tmp_path / "disk") as disk:
        state = disk / "state"
        status = process.start(state)
        try:
            (cb,) = _clients(status, "codebuild")
            cb.create_project(**_project("full-build"))
            filler = fill(disk)
            assert _unavailable(lambda: cb.start_build(projectName="full-build")) == \
                "ServiceUnavailable"  # the build's own record file
            assert cb.list_builds_for_project(projectName="full-build")["ids"] == []
            assert cb.list_builds()["ids"] == []  # memory was not ahead of disk
            with pytest.raises(LocalAwsError, match="free space"):  # the control API: 503
                client.register_repo(status.endpoint_url, "acme/full", repo)
            assert client.list_repos(status.endpoint_url) == []
            filler.unlink()
            build = cb.start_build(projectName="full-build")["build"]  # the retry
            assert build["buildNumber"] == 1  # the refused start took no number
            client.register_repo(status.endpoint_url, "acme/full", repo)
            wait_until(lambda: cb.batch_get_builds(ids=[build["id"]])["builds"][0],
                       lambda b: b["buildComplete"], what="the build's end", timeout=60)
        finally:
            process.stop(state)
        status = process.start(state)  # a restart shows exactly what was acknowledged
        try:
            (cb,) = _clients(status, "codebuild")
            assert cb.list_builds_for_project(projectName="full-build")["ids"] == [build["id"]]
            assert [r["id"] for r in client.list_repos(status.endpoint_url)] == ["acme/full"]
        finally:
            process.stop(state)


def test_a_build_ending_on_a_full_disk_shows_its_end_once_written(tmp_path):
    marker = f"runbook-full-end-{os.getpid()}"
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            f"      - bash -c 'exec -a {marker} sleep 3'\n")
    with small_tmpfs(tmp_path / "disk") as disk:
        state = disk / "state"
        status = process.start(state)
        try:
            (cb,) = _clients(status, "codebuild")
            cb.create_project(**{**_project("ends-full"), "source": {
                "type": "NO_SOURCE", "buildspec": spec}})
            build_id = cb.start_build(projectName="ends-full")["build"]["id"]
            read = lambda: cb.batch_get_builds(ids=[build_id])["builds"][0]  # noqa: E731
            wait_until(lambda: processes_with(marker), what="the build's command", timeout=60)
            filler = fill(disk)
            wait_until(lambda: processes_with(marker), lambda found: not found,
                       what="the build's command to end", timeout=30)
            # The runner clears the build's HOME just before it writes the build's end: once
            # that is gone, the end is being written (and cannot be, on the full disk).
            home = work_folder(state, build_id) / "root"
            wait_until(home.exists, lambda there: not there, timeout=30,
                       what=f"the build's last phases ({home} cleared)")
            assert not read()["buildComplete"]  # readers see what the disk holds
            on_disk = json.loads(next((state / "codebuild-builds").glob("*/*.json")).read_text())
            assert not on_disk["buildComplete"]
            filler.unlink()
            ended = wait_until(read, lambda b: b["buildComplete"], what="the end, written",
                               timeout=30)
        finally:
            process.stop(state)
        status = process.start(state)
        try:
            (cb,) = _clients(status, "codebuild")
            again = cb.batch_get_builds(ids=[build_id])["builds"][0]
            assert again["buildStatus"] == ended["buildStatus"]  # as acknowledged, not FAILED
        finally:                                                # by the restart
            process.stop(state)
