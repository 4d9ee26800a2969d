"""The action types CodePipeline offers in every region, as ``ListActionTypes`` lists them.

AWS's own (owner ``AWS``) and its partners' (owner ``ThirdParty``) action types exist without
anyone creating them; custom ones (owner ``Custom``) come from ``CreateCustomActionType``. A
pipeline may only declare an action type that exists, so this table is also what
CreatePipeline checks declarations against. Artifact counts and configuration properties
follow CodePipeline's action structure reference; every type is version ``1``. Which of them the
local AWS can *run* is another matter (:mod:`actions`): a declared type it cannot run fails
its action at run time, saying so.
"""

from __future__ import annotations

from typing import Any

# (category, owner, provider): (inputs (min, max), outputs (min, max), properties).
# A property is "Name" (optional), "Name!" (required), "Name!k" (required key), "Name?s" (secret).
_CATALOG: dict[tuple[str, str, str], tuple[tuple[int, int], tuple[int, int], str]] = {
    ("Source", "AWS", "S3"): ((0, 0), (1, 1), "S3Bucket!k S3ObjectKey!k PollForSourceChanges "
                                              "AllowOverrideForS3ObjectKey"),
    ("Source", "AWS", "CodeCommit"): ((0, 0), (1, 1), "RepositoryName!k BranchName!k "
                                                      "PollForSourceChanges OutputArtifactFormat"),
    ("Source", "AWS", "ECR"): ((0, 0), (1, 1), "RepositoryName!k ImageTag"),
    ("Source", "AWS", "CodeStarSourceConnection"): (
        (0, 0), (1, 1), "ConnectionArn!k FullRepositoryId!k BranchName!k OutputArtifactFormat "
                        "DetectChanges"),
    ("Source", "ThirdParty", "GitHub"): ((0, 0), (1, 1), "Owner!k Repo!k Branch!k "
                                                         "OAuthToken!s PollForSourceChanges"),
    ("Build", "AWS", "CodeBuild"): ((1, 5), (0, 5), "ProjectName!k PrimarySource BatchEnabled "
                                                    "CombineArtifacts EnvironmentVariables"),
    ("Build", "AWS", "ECRBuildAndPublish"): ((1, 1), (0, 0), "ECRRepositoryName!k "
                                                             "DockerFilePath ImageTags"),
    ("Test", "AWS", "CodeBuild"): ((1, 5), (0, 5), "ProjectName!k PrimarySource BatchEnabled "
                                                   "CombineArtifacts EnvironmentVariables"),
    ("Test", "AWS", "DeviceFarm"): ((1, 1), (0, 0), "ProjectId!k DevicePoolArn!k AppType!k "
                                                    "App TestType!k"),
    ("Approval", "AWS", "Manual"): ((0, 0), (0, 0), "NotificationArn CustomData "
                                                    "ExternalEntityLink"),
    ("Deploy", "AWS", "S3"): ((1, 1), (0, 0), "BucketName!k Extract!k ObjectKey "
                                              "KMSEncryptionKeyARN CannedACL CacheControl"),
    ("Deploy", "AWS", "CloudFormation"): (
        (0, 10), (0, 1), "ActionMode!k StackName!k Capabilities ChangeSetName "
                         "ParameterOverrides RoleArn TemplatePath TemplateConfiguration "
                         "OutputFileName"),
    ("Deploy", "AWS", "CloudFormationStackSet"): ((1, 10), (0, 0), "StackSetName!k "
                                                                   "TemplatePath!k Parameters"),
    ("Deploy", "AWS", "CloudFormationStackInstances"): ((0, 10), (0, 0), "StackSetName!k "
                                                                         "DeploymentTargets!k"),
    ("Deploy", "AWS", "CodeDeploy"): ((1, 1), (0, 0), "ApplicationName!k "
                                                      "DeploymentGroupName!k"),
    ("Deploy", "AWS", "CodeDeployToECS"): ((1, 5), (0, 0), "ApplicationName!k "
                                                           "DeploymentGroupName!k "
                                                           "TaskDefinitionTemplateArtifact!k "
                                                           "AppSpecTemplateArtifact!k"),
    ("Deploy", "AWS", "ECS"): ((1, 1), (0, 0), "ClusterName!k ServiceName!k FileName "
                                               "DeploymentTimeout"),
    ("Deploy", "AWS", "ElasticBeanstalk"): ((1, 1), (0, 0), "ApplicationName!k "
                                                            "EnvironmentName!k"),
    ("Deploy", "AWS", "ServiceCatalog"): ((1, 1), (0, 0), "TemplateFilePath!k "
                                                          "ProductVersionName!k ProductType!k "
                                                          "ProductId!k"),
    ("Deploy", "AWS", "AppConfig"): ((1, 1), (0, 0), "Application!k Environment!k "
                                                     "ConfigurationProfile!k "
                                                     "InputArtifactConfigurationPath!k "
                                                     "DeploymentStrategy!k"),
    ("Deploy", "AWS", "EC2"): ((1, 1), (0, 0), "InstanceTagKey!k InstanceTagValue "
                                               "InstanceType!k TargetDirectory!k"),
    ("Deploy", "AWS", "EKS"): ((1, 1), (0, 0), "ClusterName!k ManifestFiles HelmChartLocation"),
    ("Deploy", "AWS", "OpsWorks"): ((1, 1), (0, 1), "Stack!k App!k Layer"),
    ("Deploy", "ThirdParty", "AlexaSkillsKit"): ((1, 2), (0, 0), "ClientId!k ClientSecret!s "
                                                                 "RefreshToken!s SkillId!k"),
    ("Invoke", "AWS", "Lambda"): ((0, 5), (0, 5), "FunctionName!k UserParameters"),
    ("Invoke", "AWS", "StepFunctions"): ((0, 1), (0, 1), "StateMachineArn!k ExecutionNamePrefix "
                                                         "InputType Input"),
    ("Invoke", "AWS", "InspectorScan"): ((0, 1), (0, 0), "InspectorRunMode!k ECRRepositoryName "
                                                         "ImageTag CriticalThreshold"),
    ("Compute", "AWS", "Commands"): ((1, 10), (0, 1), ""),
}
VERSION = "1"


def builtin_types() -> list[dict[str, Any]]:
    """Every built-in action type, in ``ActionType`` shape."""
    return [action_type(key, spec) for key, spec in sorted(_CATALOG.items())]


def builtin(category: str, owner: str, provider: str, version: str) -> dict[str, Any] | None:
    """The built-in action type with this id, or None."""
    spec = _CATALOG.get((category, owner, provider))
    if spec is None or version != VERSION:
        return None
    return action_type((category, owner, provider), spec)


def action_type(key: tuple[str, str, str], spec) -> dict[str, Any]:
    (category, owner, provider), (inputs, outputs, properties) = key, spec
    return {
        "id": {"category": category, "owner": owner, "provider": provider, "version": VERSION},
        "settings": {},
        "actionConfigurationProperties": [_property(p) for p in properties.split()],
        "inputArtifactDetails": {"minimumCount": inputs[0], "maximumCount": inputs[1]},
        "outputArtifactDetails": {"minimumCount": outputs[0], "maximumCount": outputs[1]},
    }


def _property(spec: str) -> dict[str, Any]:
    name, _, flags = spec.partition("!") if "!" in spec else spec.partition("?")
    required = "!" in spec
    return {"name": name, "required": required, "key": "k" in flags,
            "secret": "s" in flags, "queryable": False, "type": "String"}
