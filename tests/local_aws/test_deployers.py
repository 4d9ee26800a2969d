"""Deploy executors (S3, ECS) against the local AWS, checked with an operator's clients."""

import json

import pytest
from helpers import make_zip

from runbook_lib.local.codepipeline.actions import ActionContext, ArtifactRef, executor_for
from runbook_lib.local.codepipeline.artifacts import put_artifact

REGION = "us-east-1"
SITE = {"index.html": b"<h1>hi</h1>", "css/site.css": b"h1{}", "js/app.json": b"{}",
        "data.unknownext": b"\x00\x01"}


def _run(local_aws, app_name, provider, configuration, artifact: bytes):
    """Upload ``artifact`` as the action's one input and run the provider's executor."""
    aws = local_aws.app.context.aws
    artifact_bucket = f"{app_name}-artifacts"
    aws.client("s3", REGION).create_bucket(Bucket=artifact_bucket)
    ref = put_artifact(aws, REGION, ArtifactRef("BuildOutput", artifact_bucket,
                                                f"{app_name}/BuildOutput/abc.zip"), artifact)
    ctx = ActionContext(
        aws=aws, state_dir=local_aws.app.context.state_dir, region=REGION,
        account_id="123456789012", pipeline_name=f"{app_name}-pipeline", pipeline_version=1,
        execution_id="exec-1", stage_name="Deploy", action_name="Deploy",
        action_execution_id="action-1", configuration=configuration, input_artifacts=[ref],
        output_artifact_names=[], artifact_bucket=artifact_bucket)
    executor = executor_for("Deploy", provider)
    assert executor is not None, provider
    return executor.run(ctx)


# -- S3 ---------------------------------------------------------------------------------------


def test_s3_extract_puts_every_file_with_its_content_type(local_aws, session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=app_name)
    outcome = _run(local_aws, app_name, "S3",
                   {"BucketName": app_name, "Extract": "true",
                    "CacheControl": "max-age=60", "CannedACL": "public-read"}, make_zip(SITE))
    assert (outcome.status, outcome.summary) == (
        "Succeeded", f"Deployed 4 files to s3://{app_name}/"), outcome
    assert outcome.output_variables == {}
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=app_name)["Contents"]}
    assert listed == set(SITE)
    expected_types = {"index.html": "text/html", "css/site.css": "text/css",
                      "js/app.json": "application/json",
                      "data.unknownext": "application/octet-stream"}
    for key, content_type in expected_types.items():
        head = s3.head_object(Bucket=app_name, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (content_type, "max-age=60"), key
        assert s3.get_object(Bucket=app_name, Key=key)["Body"].read() == SITE[key]


def test_s3_extract_with_object_key_deploys_under_that_path(local_aws, session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=app_name)
    outcome = _run(local_aws, app_name, "S3",
                   {"BucketName": app_name, "Extract": "true", "ObjectKey": "site/v1/"},
                   make_zip(SITE))
    assert outcome.summary == f"Deployed 4 files to s3://{app_name}/site/v1/", outcome
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=app_name)["Contents"]}
    assert listed == {f"site/v1/{name}" for name in SITE}


def test_s3_without_extract_puts_the_zip_encrypted(local_aws, session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=app_name)
    key_arn = f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    artifact = make_zip(SITE)
    outcome = _run(local_aws, app_name, "S3",
                   {"BucketName": app_name, "Extract": "false", "ObjectKey": "release.zip",
                    "KMSEncryptionKeyARN": key_arn}, artifact)
    assert outcome.status == "Succeeded", outcome
    head = s3.head_object(Bucket=app_name, Key="release.zip")
    assert (head["ContentType"], head["ServerSideEncryption"]) == ("application/zip", "aws:kms")
    assert s3.get_object(Bucket=app_name, Key="release.zip")["Body"].read() == artifact


@pytest.mark.parametrize(
    "case, configuration, artifact, error_code, summary_start",
    [
        ("missing bucket", {"BucketName": "{app}-nope", "Extract": "true"}, make_zip(SITE),
         "JobFailed", "bucket {app}-nope does not exist: "),
        ("no object key without extract", {"BucketName": "{app}", "Extract": "false"},
         make_zip(SITE), "ConfigurationError", "configuration ObjectKey is required"),
        ("extract not a boolean", {"BucketName": "{app}", "Extract": "yes"}, make_zip(SITE),
         "ConfigurationError", "configuration Extract must be true or false"),
        ("no bucket name", {"Extract": "true"}, make_zip(SITE), "ConfigurationError",
         "configuration BucketName is required"),
        ("bad canned ACL", {"BucketName": "{app}", "Extract": "true", "CannedACL": "open"},
         make_zip(SITE), "ConfigurationError", "configuration CannedACL"),
        ("artifact not a zip", {"BucketName": "{app}", "Extract": "true"}, b"not a zip",
         "JobFailed", "input artifact BuildOutput is not a zip file"),
    ],
)
def test_s3_failures_are_clear(local_aws, session, app_name, case, configuration, artifact,
                               error_code, summary_start):
    session.client("s3").create_bucket(Bucket=app_name)
    config = {k: v.format(app=app_name) for k, v in configuration.items()}
    outcome = _run(local_aws, app_name, "S3", config, artifact)
    assert outcome.status == "Failed", case
    assert outcome.error_code == error_code, case
    assert outcome.summary.startswith(summary_start.format(app=app_name)), (case, outcome.summary)


# -- ECS --------------------------------------------------------------------------------------


@pytest.fixture
def ecs_service(session, app_name):
    """A cluster, a two-container task definition (tagged) and a service running it."""
    ecs = session.client("ecs")
    ecs.create_cluster(clusterName=app_name)
    ecs.register_task_definition(
        family=app_name, cpu="256", memory="512", networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        executionRoleArn="arn:aws:iam::123456789012:role/exec",
        containerDefinitions=[
            {"name": "web", "image": "repo/web:1", "essential": True,
             "portMappings": [{"containerPort": 8080}]},
            {"name": "sidecar", "image": "repo/sidecar:7", "essential": False},
        ],
        tags=[{"key": "app", "value": app_name}])
    ecs.create_service(cluster=app_name, serviceName="api", taskDefinition=app_name,
                       desiredCount=1)
    return ecs


def _definitions(entries) -> bytes:
    return make_zip({"imagedefinitions.json": json.dumps(entries).encode()})


def test_ecs_registers_new_revision_and_updates_service(local_aws, app_name, ecs_service):
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:abc123"
    outcome = _run(local_aws, app_name, "ECS", {"ClusterName": app_name, "ServiceName": "api"},
                   _definitions([{"name": "web", "imageUri": image}]))
    assert outcome.status == "Succeeded", outcome
    assert outcome.summary == (f"Updated service api in cluster {app_name} to {app_name}:2 "
                               f"(web={image})")

    service = ecs_service.describe_services(cluster=app_name, services=["api"])["services"][0]
    assert service["taskDefinition"].endswith(f"task-definition/{app_name}:2")
    described = ecs_service.describe_task_definition(taskDefinition=service["taskDefinition"],
                                                     include=["TAGS"])
    definition = described["taskDefinition"]
    images = {c["name"]: c["image"] for c in definition["containerDefinitions"]}
    assert images == {"web": image, "sidecar": "repo/sidecar:7"}
    web = definition["containerDefinitions"][0]
    assert web["portMappings"][0]["containerPort"] == 8080
    assert (definition["cpu"], definition["memory"], definition["networkMode"]) == (
        "256", "512", "awsvpc")
    assert described["tags"] == [{"key": "app", "value": app_name}]


def test_ecs_reads_a_custom_file_name(local_aws, app_name, ecs_service):
    artifact = make_zip({"deploy/images.json": json.dumps(
        [{"name": "sidecar", "imageUri": "repo/sidecar:8"}]).encode()})
    outcome = _run(local_aws, app_name, "ECS", {"ClusterName": app_name, "ServiceName": "api",
                                                "FileName": "deploy/images.json"}, artifact)
    assert outcome.status == "Succeeded", outcome


@pytest.mark.parametrize(
    "case, configuration, artifact, summary_start",
    [
        ("missing file", {"ClusterName": "{app}", "ServiceName": "api"},
         make_zip({"other.json": b"[]"}), "imagedefinitions.json not found in input artifact"),
        ("invalid JSON", {"ClusterName": "{app}", "ServiceName": "api"},
         make_zip({"imagedefinitions.json": b"[{"}), "imagedefinitions.json in BuildOutput is not "
                                                 "valid JSON"),
        ("wrong shape", {"ClusterName": "{app}", "ServiceName": "api"},
         _definitions([{"name": "web"}]), "imagedefinitions.json in BuildOutput must be"),
        ("unknown container", {"ClusterName": "{app}", "ServiceName": "api"},
         _definitions([{"name": "worker", "imageUri": "x:1"}]),
         "container worker is not in task definition {app}:1"),
        ("missing cluster", {"ClusterName": "{app}-nope", "ServiceName": "api"},
         _definitions([{"name": "web", "imageUri": "x:1"}]), "cluster {app}-nope does not exist"),
        ("missing service", {"ClusterName": "{app}", "ServiceName": "nope"},
         _definitions([{"name": "web", "imageUri": "x:1"}]),
         "service nope does not exist in cluster {app}"),
        ("bad timeout", {"ClusterName": "{app}", "ServiceName": "api",
                         "DeploymentTimeout": "90"},
         _definitions([{"name": "web", "imageUri": "x:1"}]),
         "configuration DeploymentTimeout must be 1 to 60 minutes"),
    ],
)
def test_ecs_failures_are_clear_and_change_nothing(local_aws, app_name, ecs_service, case,
                                                   configuration, artifact, summary_start):
    config = {k: v.format(app=app_name) for k, v in configuration.items()}
    outcome = _run(local_aws, app_name, "ECS", config, artifact)
    assert outcome.status == "Failed", case
    assert outcome.summary.startswith(summary_start.format(app=app_name)), (case, outcome.summary)
    service = ecs_service.describe_services(cluster=app_name, services=["api"])["services"][0]
    assert service["taskDefinition"].endswith(f"task-definition/{app_name}:1"), case
