"""The one client factory: targets, endpoints, credentials, retries, the call recorder."""

import pytest

from runbook_lib.core.errors import CredentialsError, LocalAwsError
from runbook_lib.core.operations import is_read_operation
from runbook_lib.core.session import AwsSession, is_loopback


@pytest.mark.parametrize("operation, read", [
    ("GetPipelineState", True), ("ListPipelineExecutions", True), ("BatchGetBuilds", True),
    ("HeadBucket", True), ("DescribeLogGroups", True), ("PutBucketPolicy", False),
    ("CreateRole", False), ("StartPipelineExecution", False), ("TagResource", False),
])
def test_read_operations_by_name(operation, read):
    assert is_read_operation(operation) is read


def test_recorder_counts_reads_and_mutations_on_the_wire(session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=app_name)
    s3.head_bucket(Bucket=app_name)
    s3.list_objects_v2(Bucket=app_name)
    rec = session.recorder
    assert rec.mutating == {("s3", "CreateBucket"): 1}
    assert rec.reads[("s3", "HeadBucket")] == 1
    assert "1 mutating calls" in rec.summary()
    rec.reset()
    assert rec.mutating_count == 0


def test_clients_are_cached_and_use_standard_retries(session):
    assert session.client("sts") is session.client("sts")
    retries = session.client("sts").meta.config.retries
    assert retries["mode"] == "standard"


def test_local_target_finds_the_server_s_own_key_pair(local_aws, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    s = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    assert s.account_id() == "123456789012"


def test_real_aws_keys_in_the_environment_never_reach_the_local_aws(local_aws, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALACCOUNTKEY00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    s = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    key_id = s._boto.get_credentials().access_key
    assert key_id == local_aws.credentials.access_key_id
    assert s.account_id() == "123456789012"


def test_a_local_aws_whose_key_pair_is_unreadable_says_to_export_it(monkeypatch, tmp_path):
    from runbook_lib.core import local_credentials

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(local_credentials, "credentials_for_endpoint", lambda _url: None)
    with pytest.raises(LocalAwsError, match="runbook local start"):
        AwsSession("local", "us-east-1", endpoint_url="http://127.0.0.1:9")


def test_local_target_honours_aws_endpoint_url(local_aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    assert AwsSession("local", "us-east-1").endpoint_url == local_aws.endpoint_url


def test_local_target_without_any_endpoint_says_how_to_start_one(monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("RUNBOOK_STATE_DIR", str(tmp_path))
    with pytest.raises(LocalAwsError, match="runbook local start"):
        AwsSession("local", "us-east-1")


def test_aws_target_refuses_a_loopback_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    with pytest.raises(CredentialsError, match="unset AWS_ENDPOINT_URL"):
        AwsSession("aws", "us-east-1")


def test_aws_target_without_credentials_says_how_to_provide_them(monkeypatch, tmp_path):
    for var in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match="aws configure"):
        AwsSession("aws", "us-east-1")


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:4599", True), ("http://localhost:1", True), ("http://[::1]:2", True),
    ("https://codepipeline.us-east-1.amazonaws.com", False), (None, False),
])
def test_loopback_detection(url, local):
    assert is_loopback(url) is local
