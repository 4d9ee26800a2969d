"""The pipeline's declaration per source and deploy provider, and its shape. The plan against
the local AWS: tests/integration/setup/test_pipeline.py."""

import json

import botocore.session
import pytest
from botocore.validate import validate_parameters

from runbook_lib.core.params import Params
from runbook_lib.setup import pipeline, pipeline_shape

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/" \
             "0a1b2c3d-1111-2222-3333-444455556666"
ECS = {"ecs_cluster": "sample-cluster", "ecs_service": "sample-service"}


def _definition(**changes):
    params = Params(app_name="sample-app", **changes)
    return params, pipeline.pipeline_definition(params, params.names())


def _stage(declaration, name):
    return next(s for s in declaration["stages"] if s["name"] == name)


def _action(declaration, stage):
    (action,) = _stage(declaration, stage)["actions"]
    return action


# -- the declaration (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize("provider, repo, action_provider, configuration, triggered", [
    ("github", "acme/sample-app", "CodeStarSourceConnection",
     {"ConnectionArn": CONNECTION, "FullRepositoryId": "acme/sample-app", "BranchName": "main",
      "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "false"}, True),
    ("gitlab", "acme/sample-app", "CodeStarSourceConnection",
     {"ConnectionArn": CONNECTION, "FullRepositoryId": "acme/sample-app", "BranchName": "main",
      "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "false"}, True),
    ("bitbucket", "acme/sample-app", "CodeStarSourceConnection",
     {"ConnectionArn": CONNECTION, "FullRepositoryId": "acme/sample-app", "BranchName": "main",
      "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "false"}, True),
    ("codecommit", "sample-app", "CodeCommit",
     {"RepositoryName": "sample-app", "BranchName": "main", "PollForSourceChanges": "false",
      "OutputArtifactFormat": "CODE_ZIP"}, False),
    ("s3", "source-bucket/releases/app.zip", "S3",
     {"S3Bucket": "source-bucket", "S3ObjectKey": "releases/app.zip",
      "PollForSourceChanges": "false"}, False),
])
def test_source_action_per_provider(provider, repo, action_provider, configuration, triggered):
    _, declaration = _definition(source_provider=provider, source_repo=repo,
                                 connection_arn=CONNECTION)
    source = _action(declaration, "Source")
    assert source["actionTypeId"] == {"category": "Source", "owner": "AWS",
                                      "provider": action_provider, "version": "1"}
    assert source["configuration"] == configuration
    assert source["outputArtifacts"] == [{"name": "SourceOutput"}]
    assert source["namespace"] == "SourceVariables"
    assert ("triggers" in declaration) is triggered


@pytest.mark.parametrize("provider, action_provider, staging, production", [
    ("s3", "S3",
     {"BucketName": "sample-app-staging-123456789012-us-east-1", "Extract": "true"},
     {"BucketName": "sample-app-production-123456789012-us-east-1", "Extract": "true"}),
    ("ecs", "ECS",
     {"ClusterName": "sample-cluster", "ServiceName": "sample-service-staging",
      "FileName": "imagedefinitions.json"},
     {"ClusterName": "sample-cluster", "ServiceName": "sample-service-production",
      "FileName": "imagedefinitions.json"}),
    ("codedeploy-ecs", "CodeDeployToECS",
     {"ApplicationName": "sample-app", "DeploymentGroupName": "sample-app-staging",
      "TaskDefinitionTemplateArtifact": "BuildOutput", "TaskDefinitionTemplatePath": "taskdef.json",
      "AppSpecTemplateArtifact": "BuildOutput", "AppSpecTemplatePath": "appspec.yaml",
      "Image1ArtifactName": "BuildOutput", "Image1ContainerName": "IMAGE1_NAME"},
     {"DeploymentGroupName": "sample-app-production"}),
    ("codedeploy-ec2", "CodeDeploy",
     {"ApplicationName": "sample-app", "DeploymentGroupName": "sample-app-staging"},
     {"ApplicationName": "sample-app", "DeploymentGroupName": "sample-app-production"}),
    ("cloudformation", "CloudFormation",
     {"ActionMode": "CREATE_UPDATE", "StackName": "sample-app-staging",
      "TemplatePath": "BuildOutput::packaged.yaml",
      "Capabilities": "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND",
      "RoleArn": "arn:aws:iam::123456789012:role/sample-app-cloudformation"},
     {"StackName": "sample-app-production"}),
])
def test_deploy_action_per_provider(provider, action_provider, staging, production):
    _, declaration = _definition(deploy_provider=provider, **ECS)
    deploy_staging = _action(declaration, "Deploy-staging")
    deploy_production = _action(declaration, "Deploy-production")
    for action, expected in ((deploy_staging, staging), (deploy_production, production)):
        assert action["actionTypeId"]["category"] == "Deploy"
        assert action["actionTypeId"]["provider"] == action_provider
        assert action["inputArtifacts"] == [{"name": "BuildOutput"}]
        assert expected.items() <= action["configuration"].items()


@pytest.mark.parametrize("source_provider, repo, deploy_provider", [
    (source, repo, deploy)
    for source, repo in (("github", "acme/sample-app"), ("codecommit", "sample-app"),
                         ("s3", "source-bucket/app.zip"))
    for deploy in ("s3", "ecs", "codedeploy-ecs", "codedeploy-ec2", "cloudformation")
])
def test_definition_matches_the_codepipeline_api_model(source_provider, repo, deploy_provider):
    """Every combination is a valid CreatePipeline request by botocore's service model."""
    _, declaration = _definition(source_provider=source_provider, source_repo=repo,
                                 deploy_provider=deploy_provider, **ECS)
    model = botocore.session.get_session().get_service_model("codepipeline")
    validate_parameters({"pipeline": declaration},
                        model.operation_model("CreatePipeline").input_shape)


def test_trigger_starts_runs_on_the_configured_branch_only():
    _, declaration = _definition(source_branch="release/2.x")
    assert declaration["triggers"] == [{
        "providerType": "CodeStarSourceConnection",
        "gitConfiguration": {"sourceActionName": "Source",
                             "push": [{"branches": {"includes": ["release/2.x"]}}]},
    }]
    assert _action(declaration, "Source")["name"] == "Source"
    assert _action(declaration, "Source")["configuration"]["BranchName"] == "release/2.x"


def test_approval_sits_between_staging_and_production():
    _, declaration = _definition(staging_name="qa", production_name="live")
    assert [s["name"] for s in declaration["stages"]] == [
        "Source", "Build", "Deploy-qa", "Approve-live", "Deploy-live"]
    approve = _action(declaration, "Approve-live")
    assert approve["actionTypeId"]["category"] == "Approval"
    assert approve["actionTypeId"]["provider"] == "Manual"


@pytest.mark.parametrize("case, review_url, link", [
    ("with a review URL", "https://staging.example.com", "https://staging.example.com"),
    ("without", "", None),
])
def test_approval_notifies_the_topic_and_names_the_commit(case, review_url, link):
    params, declaration = _definition(review_url=review_url)
    configuration = _action(declaration, "Approve-production")["configuration"]
    names = params.names()
    assert configuration["NotificationArn"] == names.topic_arn(names.approval_topic), case
    assert "#{SourceVariables.CommitId}" in configuration["CustomData"]
    assert len(configuration["CustomData"]) <= 500
    assert configuration.get("ExternalEntityLink") == link


@pytest.mark.parametrize("mode, rollback", [
    ("SUPERSEDED", True), ("QUEUED", True), ("PARALLEL", False),
])
def test_deploy_stages_roll_back_on_failure(mode, rollback):
    _, declaration = _definition(execution_mode=mode)
    assert declaration["executionMode"] == mode
    assert declaration["pipelineType"] == "V2"
    for stage in declaration["stages"]:
        expected = {"result": "ROLLBACK"} if rollback and stage["name"].startswith("Deploy-") \
            else None
        assert stage.get("onFailure") == expected, stage["name"]


@pytest.mark.parametrize("source_provider, repo, variable", [
    ("github", "acme/sample-app", "#{SourceVariables.CommitId}"),
    ("codecommit", "sample-app", "#{SourceVariables.CommitId}"),
    ("s3", "source-bucket/app.zip", "#{SourceVariables.VersionId}"),
])
def test_build_gets_the_source_revision_as_commit_sha(source_provider, repo, variable):
    params, declaration = _definition(source_provider=source_provider, source_repo=repo)
    build = _action(declaration, "Build")
    assert build["configuration"]["ProjectName"] == params.names().build_project
    assert json.loads(build["configuration"]["EnvironmentVariables"]) == [
        {"name": "COMMIT_SHA", "value": variable, "type": "PLAINTEXT"}]
    assert build["inputArtifacts"] == [{"name": "SourceOutput"}]
    assert build["outputArtifacts"] == [{"name": "BuildOutput"}]
    assert build["namespace"] == "BuildVariables"


@pytest.mark.parametrize("kms, expected", [
    ("", None),
    ("arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666",
     {"id": "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666",
      "type": "KMS"}),
])
def test_artifact_store_is_the_artifact_bucket(kms, expected):
    params, declaration = _definition(kms_key_arn=kms)
    names = params.names()
    store = declaration["artifactStore"]
    assert (store["type"], store["location"]) == ("S3", names.artifact_bucket)
    assert store.get("encryptionKey") == expected
    assert declaration["roleArn"] == names.role_arn(names.codepipeline_role)


@pytest.mark.parametrize("case, edit, expected", [
    ("AWS fills in version and action defaults",
     lambda d: d.update(version=3) or d["stages"][2]["actions"][0].pop("outputArtifacts"), []),
    ("empty lists and an action region declare nothing",
     lambda d: d.update(variables=[]) or d["stages"][1]["actions"][0].update(region="us-east-1"),
     []),
    ("a stage setting added by hand", lambda d: d["stages"][1].update(onFailure={"result": "FAIL"}),
     ["stages[1].onFailure: {'result': 'FAIL'} -> (absent)"]),
    ("a configuration key changed",
     lambda d: d["stages"][0]["actions"][0]["configuration"].update(BranchName="dev"),
     ["stages[0].actions[0].configuration.BranchName: dev -> main"]),
    ("triggers removed", lambda d: d.pop("triggers"), ["triggers: (absent) -> "]),
])
def test_declaration_diff(case, edit, expected):
    _, desired = _definition()
    current = json.loads(json.dumps(desired))
    edit(current)
    diff = pipeline.declaration_diff(current, desired)
    assert len(diff) == len(expected), case
    for line, start in zip(diff, expected, strict=True):
        assert line.startswith(start), case


def test_shape_from_declaration_keeps_order_and_artifacts():
    _, declaration = _definition()
    shape = pipeline_shape.shape_from_declaration(declaration, deployed=False)
    assert [s.name for s in shape.stages] == [
        "Source", "Build", "Deploy-staging", "Approve-production", "Deploy-production"]
    build = shape.stages[1].actions[0]
    assert (build.category, build.provider, build.input_artifacts, build.output_artifacts,
            build.namespace) == ("Build", "CodeBuild", ("SourceOutput",), ("BuildOutput",),
                                 "BuildVariables")
    assert shape.trigger_branches == ("main",)
    assert shape.stages[2].on_failure == "ROLLBACK"
    assert shape.as_rows()[0][:3] == ("Source", "Source", "CodeStarSourceConnection")


@pytest.mark.parametrize("source_provider, repo, words", [
    ("github", "acme/sample-app", "a push to branch main"),
    ("codecommit", "sample-app", "EventBridge rule"),
    ("s3", "source-bucket/app.zip", "EventBridge rule"),
])
def test_shape_says_what_starts_a_run(source_provider, repo, words):
    _, declaration = _definition(source_provider=source_provider, source_repo=repo)
    assert words in pipeline_shape.shape_from_declaration(declaration).starts_on
