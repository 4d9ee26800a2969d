"""The one client factory against the local AWS over HTTP: the call recorder on the wire,
cached clients with standard retries, the server's own key pair, AWS_ENDPOINT_URL."""

from runbook_lib.core.session import AwsSession


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


def test_local_target_honours_aws_endpoint_url(local_aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    assert AwsSession("local", "us-east-1").endpoint_url == local_aws.endpoint_url
