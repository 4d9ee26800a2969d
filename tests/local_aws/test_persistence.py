"""State in the state directory survives a restart of the local AWS (separate processes)."""

from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process


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
    assert process.read_status(tmp_path) is None


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
