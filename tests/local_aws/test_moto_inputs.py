"""Inputs moto crashed on are answered as AWS answers them (runbook_lib/local/server/moto_inputs).

Each case is one the census found crashing moto with minimal valid input; real boto3 over HTTP
against the session's local AWS, retries off, so a 5xx would show as itself.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture
def client(local_aws):
    creds = local_aws.credentials

    def make(service: str):
        return boto3.client(service, region_name="us-east-1",
                            endpoint_url=local_aws.endpoint_url,
                            aws_access_key_id=creds.access_key_id,
                            aws_secret_access_key=creds.secret_access_key,
                            config=Config(retries={"mode": "standard", "max_attempts": 1}))
    return make


def _error(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"].get("Message", ""))


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# (service, method, kwargs, AWS's error code) for input AWS refuses.
REFUSED = [
    ("sns", "publish", {"Message": "to nobody"}, "InvalidParameter"),
    ("iam", "create_service_linked_role", {"AWSServiceName": "census"}, "InvalidInput"),
    ("logs", "put_delivery_destination", {"name": "d1"}, "ValidationException"),
    ("logs", "start_query", {"queryString": "fields @message", "startTime": 1, "endTime": 2},
     "InvalidParameterException"),
    ("events", "put_partner_events", {"Entries": [{"DetailType": "x", "Detail": "{}"}]},
     "ValidationException"),
    ("secretsmanager", "replicate_secret_to_regions",
     {"SecretId": "s", "AddReplicaRegions": [{}]}, "InvalidParameterException"),
    ("ecs", "create_capacity_provider", {"name": "cp1"}, "InvalidParameterException"),
    ("ecs", "delete_capacity_provider", {"capacityProvider": "none"}, "ClientException"),
    ("ecs", "update_capacity_provider",
     {"name": "none", "autoScalingGroupProvider": {}}, "ClientException"),
    ("ecs", "register_container_instance", {}, "InvalidParameterException"),
]


@pytest.mark.parametrize(("service", "method", "kwargs", "code"), REFUSED,
                         ids=[f"{s}.{m}" for s, m, _, _ in REFUSED])
def test_input_aws_refuses_gets_aws_error_not_a_crash(client, service, method, kwargs, code):
    got, status, message = _error(getattr(client(service), method), **kwargs)
    assert (got, status) == (code, 400), message


def test_ecs_on_an_empty_cluster_answers_as_aws(client):
    ecs = client("ecs")
    cluster = _name("empty")
    ecs.create_cluster(clusterName=cluster)
    family = _name("task")
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "c", "image": "busybox", "memory": 64}])
    code, _, message = _error(ecs.run_task, cluster=cluster, taskDefinition=family)
    assert (code, message) == ("InvalidParameterException",
                               "No Container Instances were found in your cluster.")
    assert _error(ecs.stop_task, cluster=cluster, task="nothing")[0] == \
        "InvalidParameterException"
    assert _error(ecs.deregister_container_instance, cluster=cluster,
                  containerInstance="none")[0] == "InvalidParameterException"
    assert _error(ecs.delete_task_set, cluster=cluster, service="none",
                  taskSet="none")[0] == "ServiceNotFoundException"


def test_ecs_put_attributes_without_cluster_uses_the_default_cluster(client):
    ecs = client("ecs")
    ecs.create_cluster()  # "default"
    arn = "arn:aws:ecs:us-east-1:123456789012:container-instance/default/abc"
    code, _, message = _error(ecs.put_attributes, attributes=[
        {"name": "zone", "value": "a", "targetId": arn}])
    assert code == "TargetNotFoundException" and arn in message  # looked up in "default"


def test_listing_every_capacity_provider_is_refused_as_not_emulated(client):
    code, status, message = _error(client("ecs").describe_capacity_providers)
    assert (code, status) == ("NotImplemented", 501)
    assert "DescribeCapacityProviders" in message


def test_idempotent_deletes_of_unknown_things_succeed(client):
    arn = "arn:aws:sns:us-east-1:123456789012:app/GCM/none"
    client("sns").delete_platform_application(PlatformApplicationArn=arn)
    baseline = "pb-0123456789abcdef0"
    assert client("ssm").delete_patch_baseline(BaselineId=baseline)["BaselineId"] == baseline


def test_patch_group_baseline_defaults_to_windows(client):
    got = client("ssm").get_patch_baseline_for_patch_group(PatchGroup=_name("group"))
    assert got["OperatingSystem"] == "WINDOWS" and got["BaselineId"]


def test_s3_inputs(client):
    s3 = client("s3")
    bucket = _name("inputs")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": []})  # removes the tags
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert _error(s3.put_bucket_ownership_controls, Bucket=bucket,
                  OwnershipControls={"Rules": []})[0] == "MalformedXML"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    assert _error(s3.upload_part_copy, Bucket=bucket, Key="big", UploadId=upload,
                  PartNumber=1, CopySource="no-slash")[0] == "InvalidArgument"
    assert _error(s3.select_object_content, Bucket=bucket, Key="k", Expression="select 1",
                  ExpressionType="SQL", InputSerialization={},
                  OutputSerialization={})[0] == "MissingRequiredParameter"
    code, status, message = _error(s3.create_bucket_metadata_table_configuration,
                                   Bucket=bucket, MetadataTableConfiguration={
                                       "S3TablesDestination": {"TableBucketArn": "arn:x",
                                                               "TableName": "t"}})
    assert (code, status) == ("NotImplemented", 501)
    assert "CreateBucketMetadataTableConfiguration" in message
    s3.head_bucket(Bucket=bucket)


def test_a_rewrite_is_what_the_journal_keeps(client, local_aws):
    """A restart replays the journal straight into moto: it must hold the rewritten request
    (an empty TagSet as DeleteObjectTagging), which moto serves, not the one it crashes on."""
    s3 = client("s3")
    bucket = _name("journal")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": []})
    lines = (local_aws.app.state_dir / "moto-journal.jsonl").read_text().splitlines()
    mine = [json.loads(line) for line in lines if f"/{bucket}/k" in line]
    assert [(e["method"], e["query"]) for e in mine][-1] == ("DELETE", "tagging")
