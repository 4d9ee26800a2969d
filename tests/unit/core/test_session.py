"""The one client factory without a server: read operations by name, loopback detection, and
what a missing endpoint, key pair or credentials says. Over HTTP (the call recorder, retries,
the local key pair): tests/integration/core/test_session.py."""

import pytest

from runbook_lib.core.errors import CredentialsError, LocalAwsError
from runbook_lib.core.operations import is_read_operation
from runbook_lib.core.session import AwsSession, is_loopback, shared_model_loader


@pytest.mark.parametrize("operation, read", [
    ("GetPipelineState", True), ("ListPipelineExecutions", True), ("BatchGetBuilds", True),
    ("HeadBucket", True), ("DescribeLogGroups", True), ("PutBucketPolicy", False),
    ("CreateRole", False), ("StartPipelineExecution", False), ("TagResource", False),
])
def test_read_operations_by_name(operation, read):
    assert is_read_operation(operation) is read


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


@pytest.mark.usefixtures("example_credentials")
def test_sessions_share_one_model_loader_whose_paths_do_not_grow(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    first = AwsSession("local", "us-east-1")
    first.client("codepipeline")
    paths = list(shared_model_loader().search_paths)
    later = [AwsSession("local", "eu-west-1") for _ in range(3)]
    clients = [session.client("codepipeline") for session in later]
    assert shared_model_loader().search_paths == paths  # boto3 appends its folder each time
    assert all(c.meta.region_name == "eu-west-1" for c in clients)
    assert {id(s._boto._session.get_component("data_loader")) for s in [first, *later]} == {
        id(shared_model_loader())}
    # The shared loader reads each model once: the second client costs no file read.
    loader = shared_model_loader()
    reads = []
    monkeypatch.setattr(loader.file_loader, "load_file",
                        lambda *a, **k: reads.append(a) or None)
    AwsSession("local", "us-east-1").client("codepipeline")
    assert reads == []
