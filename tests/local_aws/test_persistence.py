"""State in the state directory survives a restart of the local AWS (separate processes)."""

import base64
import json

from runbook_lib.core import local_endpoint
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.local.server.journal import JOURNAL_FILE


def test_buckets_roles_and_projects_survive_restart(tmp_path):
    status = process.start(tmp_path)
    try:
        s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        s.client("s3").create_bucket(Bucket="kept-bucket")
        s.client("s3").put_object(Bucket="kept-bucket", Key="a/b.txt", Body=b"hello")
        s.client("iam").create_role(RoleName="kept-role", AssumeRolePolicyDocument="{}")
        s.client("codebuild").create_project(
            name="kept-project", source={"type": "CODEPIPELINE"},
            artifacts={"type": "CODEPIPELINE"},
            environment={"type": "LINUX_CONTAINER", "image": "i",
                         "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole="arn:aws:iam::123456789012:role/kept-role")
    finally:
        assert process.stop(tmp_path)

    status = process.start(tmp_path)
    try:
        s2 = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        body = s2.client("s3").get_object(Bucket="kept-bucket", Key="a/b.txt")["Body"].read()
        assert body == b"hello"
        assert s2.client("iam").get_role(RoleName="kept-role")["Role"]["RoleName"] == "kept-role"
        got = s2.client("codebuild").batch_get_projects(names=["kept-project"])["projects"]
        assert [p["name"] for p in got] == ["kept-project"]
    finally:
        process.stop(tmp_path)
    assert local_endpoint.read_status(tmp_path) is None


def test_reset_wipes_state_and_keeps_foreign_files(tmp_path):
    status = process.start(tmp_path)
    s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
    s.client("s3").create_bucket(Bucket="gone-after-reset")
    (tmp_path / "notes.txt").write_text("mine")
    assert process.reset(tmp_path) >= 1
    assert (tmp_path / "notes.txt").read_text() == "mine"
    status = process.start(tmp_path)
    try:
        s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        assert s.client("s3").list_buckets()["Buckets"] == []
    finally:
        process.stop(tmp_path)


def test_journal_entries_now_served_by_an_extension_are_not_replayed_into_moto(tmp_path):
    """A journal from an older version may hold a bucket policy sent to moto; replayed, moto
    would deny every object write (it ignores the policy's TLS condition)."""
    import base64
    import json as _json

    from runbook_lib.local.server.journal import JOURNAL_FILE

    status = process.start(tmp_path)
    s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
    s.client("s3").create_bucket(Bucket="old-state")
    process.stop(tmp_path)
    policy = _json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::old-state", "arn:aws:s3:::old-state/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}).encode()
    entry = {"method": "PUT", "path": "/old-state?policy", "path_info": "/old-state",
             "query": "policy", "headers": {
                 "authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/"
                                  "aws4_request, SignedHeaders=host, Signature=0",
                 "content-type": "application/json"},
             "body": base64.b64encode(policy).decode()}
    with open(tmp_path / JOURNAL_FILE, "a") as fh:
        fh.write(_json.dumps(entry) + "\n")
    status = process.start(tmp_path)
    try:
        s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        s.client("s3").put_object(Bucket="old-state", Key="artifact.zip", Body=b"PK")
    finally:
        process.stop(tmp_path)


def _log_session(status) -> AwsSession:
    return AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)


def _all_messages(logs, group: str, stream: str) -> list[str]:
    messages, token = [], None
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                   startFromHead=True, **({"nextToken": token} if token else {}))
        messages += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            return messages
        token = page["nextForwardToken"]


def test_log_events_survive_a_restart_and_are_kept_once_outside_the_journal(tmp_path):
    status = process.start(tmp_path)
    lines = [f"line {i} " + "x" * 100 for i in range(3000)]
    try:
        logs = _log_session(status).client("logs")
        logs.create_log_group(logGroupName="/kept/group")
        logs.create_log_stream(logGroupName="/kept/group", logStreamName="build/1")
        for start in range(0, len(lines), 1000):
            logs.put_log_events(logGroupName="/kept/group", logStreamName="build/1", logEvents=[
                {"timestamp": 1_700_000_000_000 + start + i, "message": m}
                for i, m in enumerate(lines[start:start + 1000])])
    finally:
        assert process.stop(tmp_path)
    journal = (tmp_path / JOURNAL_FILE).read_bytes()
    assert b"CreateLogStream" in journal or b"build/1" in journal  # the stream itself is state
    assert b"PutLogEvents" not in journal and b"line 2999" not in journal
    status = process.start(tmp_path)
    try:
        logs = _log_session(status).client("logs")
        assert _all_messages(logs, "/kept/group", "build/1") == lines
        tail = logs.get_log_events(logGroupName="/kept/group", logStreamName="build/1",
                                   limit=2)["events"]
        assert [e["message"] for e in tail] == lines[-2:]
        found = logs.filter_log_events(logGroupName="/kept/group", filterPattern='"line 2999"')
        assert [e["message"] for e in found["events"]] == [lines[-1]]
        logs.delete_log_group(logGroupName="/kept/group")
        logs.create_log_group(logGroupName="/kept/group")
        logs.create_log_stream(logGroupName="/kept/group", logStreamName="build/1")
        assert _all_messages(logs, "/kept/group", "build/1") == []  # deleted with its group
    finally:
        process.stop(tmp_path)


def test_log_events_an_older_journal_holds_move_to_the_log_store(tmp_path):
    status = process.start(tmp_path)
    try:
        logs = _log_session(status).client("logs")
        logs.create_log_group(logGroupName="/old")
        logs.create_log_stream(logGroupName="/old", logStreamName="s")
    finally:
        process.stop(tmp_path)
    entries = (tmp_path / JOURNAL_FILE).read_bytes().splitlines()
    create = json.loads(next(e for e in entries if b"CreateLogStream" in e))
    body = {"logGroupName": "/old", "logStreamName": "s",
            "logEvents": [{"timestamp": 1_700_000_000_000, "message": "from the old journal"}]}
    legacy = {**create, "headers": {**create["headers"],
                                    "x-amz-target": "Logs_20140328.PutLogEvents"},
              "body": base64.b64encode(json.dumps(body).encode()).decode()}
    with open(tmp_path / JOURNAL_FILE, "ab") as fh:
        fh.write(json.dumps(legacy).encode() + b"\n")
    status = process.start(tmp_path)
    try:
        logs = _log_session(status).client("logs")
        assert _all_messages(logs, "/old", "s") == ["from the old journal"]
    finally:
        process.stop(tmp_path)
    assert b"PutLogEvents" not in (tmp_path / JOURNAL_FILE).read_bytes()


def test_a_journal_keeps_only_the_last_write_of_an_s3_object(tmp_path):
    status = process.start(tmp_path)
    try:
        s3 = _log_session(status).client("s3")
        s3.create_bucket(Bucket="compact")
        for version in range(5):
            s3.put_object(Bucket="compact", Key="artifact.zip", Body=b"v%d" % version * 1000)
        s3.put_object(Bucket="compact", Key="gone", Body=b"x")
        s3.delete_object(Bucket="compact", Key="gone")
    finally:
        process.stop(tmp_path)
    before = len((tmp_path / JOURNAL_FILE).read_bytes().splitlines())
    status = process.start(tmp_path)
    try:
        s3 = _log_session(status).client("s3")
        got = s3.get_object(Bucket="compact", Key="artifact.zip")["Body"].read()
        assert got == b"v4" * 1000
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="compact")["Contents"]] == [
            "artifact.zip"]
    finally:
        process.stop(tmp_path)
    assert len((tmp_path / JOURNAL_FILE).read_bytes().splitlines()) == before - 5
