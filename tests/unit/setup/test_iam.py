"""IAM service roles: the generated documents, for every parameter combination, are scoped to
the app. Plans that create, converge and repair: tests/integration/setup/test_iam.py."""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote

import pytest

from runbook_lib.core.param_rules import DEPLOY_PROVIDERS
from runbook_lib.core.params import Params
from runbook_lib.setup import iam, policies

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
ALIAS_ARN = "arn:aws:kms:us-east-1:123456789012:alias/app-artifacts"
SOURCES = {"github": "acme/sample-app", "codecommit": "sample-app", "s3": "src-bucket/app.zip"}


def all_params(app_name: str = "sample-app") -> list[Params]:
    """Every source provider x deploy provider x docker or not x KMS none/key/alias."""
    return [
        Params(app_name=app_name, source_provider=src, source_repo=repo, deploy_provider=dep,
               build_template=tpl, kms_key_arn=kms)
        for (src, repo), dep, tpl, kms in itertools.product(
            SOURCES.items(), DEPLOY_PROVIDERS, ("nodejs", "docker"), ("", KEY_ARN, ALIAS_ARN))
    ]


def _id(p: Params) -> str:
    kms = "alias" if "alias/" in p.kms_key_arn else ("key" if p.kms_key_arn else "nokms")
    return f"{p.source_provider}-{p.deploy_provider}-{p.build_template}-{kms}"


ALL = all_params()


def _statements(spec):
    return spec.permissions["Statement"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _actions(spec) -> set[str]:
    return {a for s in _statements(spec) for a in _as_list(s["Action"])}


def _spec(p: Params, service: str):
    return next(s for s in policies.role_specs(p, p.names()) if s.service == service)


# -- generated documents ------------------------------------------------------------------------


@pytest.mark.parametrize("p", ALL, ids=_id)
def test_star_resources_hold_only_allow_listed_actions(p):
    for spec in policies.role_specs(p, p.names()):
        for statement in _statements(spec):
            if "*" in _as_list(statement["Resource"]):
                unlisted = set(_as_list(statement["Action"])) - set(policies.STAR_ONLY_ACTIONS)
                assert not unlisted, (spec.name, statement["Sid"])


@pytest.mark.parametrize("p", ALL, ids=_id)
def test_every_resource_is_an_exact_arn_of_the_app(p):
    names = p.names()
    given_by_operator = (p.kms_key_arn.rpartition(":")[0], names.connection_arn or "-",
                         f"arn:aws:s3:::{p.source_repo.partition('/')[0]}",
                         f"arn:aws:codecommit:us-east-1:123456789012:{p.source_repo}",
                         "arn:aws:codedeploy:us-east-1:123456789012:deploymentconfig:"
                         "CodeDeployDefault.")
    for spec in policies.role_specs(p, p.names()):
        for statement in _statements(spec):
            for resource in _as_list(statement["Resource"]):
                if resource == "*":
                    continue
                parts = resource.split(":")
                assert parts[0] == "arn" and parts[1] == names.partition, resource
                assert parts[4] in ("", names.account_id), f"other account: {resource}"
                assert "*" not in resource[:-1], f"wildcard inside {resource}"
                assert p.app_name in resource or resource.startswith(given_by_operator), resource


@pytest.mark.parametrize("p", ALL, ids=_id)
def test_pass_role_names_roles_and_the_service_they_go_to(p):
    for spec in policies.role_specs(p, p.names()):
        for statement in _statements(spec):
            if "iam:PassRole" in _as_list(statement["Action"]):
                assert _as_list(statement["Action"]) == ["iam:PassRole"]
                assert "*" not in statement["Resource"]
                passed_to = statement["Condition"]["StringEquals"]["iam:PassedToService"]
                assert passed_to in ("ecs-tasks.amazonaws.com", "cloudformation.amazonaws.com")


@pytest.mark.parametrize("p", ALL, ids=_id)
def test_trust_policies_name_the_account_and_the_one_source(p):
    names = p.names()
    expected_source = {
        "codebuild.amazonaws.com": names.build_project_arn,
        "codepipeline.amazonaws.com": names.pipeline_arn,
        "events.amazonaws.com": names.arn("events", f"rule/{names.pipeline}-source-change"),
    }
    for spec in policies.role_specs(p, names):
        (statement,) = spec.trust["Statement"]
        assert statement["Principal"] == {"Service": spec.service}
        assert statement["Action"] == "sts:AssumeRole"
        condition = statement["Condition"]["StringEquals"]
        if spec.service == "cloudformation.amazonaws.com":  # no documented SourceArn
            assert condition == {"aws:SourceAccount": names.account_id}
            continue
        assert condition == {"aws:SourceAccount": names.account_id,
                             "aws:SourceArn": expected_source[spec.service]}


@pytest.mark.parametrize(
    "source, wants_events_role",
    [("github", False), ("gitlab", False), ("bitbucket", False), ("codecommit", True),
     ("s3", True)],
)
def test_events_role_only_for_rule_triggered_sources(source, wants_events_role):
    repo = SOURCES.get(source, "acme/sample-app")
    p = Params(source_provider=source, source_repo=repo)
    roles = [s.name for s in policies.role_specs(p, p.names())]
    assert (p.names().events_role in roles) is wants_events_role
    if wants_events_role:
        events = _spec(p, "events.amazonaws.com")
        assert _statements(events) == [{"Sid": "StartPipeline", "Effect": "Allow",
                                        "Action": ["codepipeline:StartPipelineExecution"],
                                        "Resource": [p.names().pipeline_arn]}]


@pytest.mark.parametrize(
    "deploy, present, absent",
    [
        ("s3", {"s3:PutObject"}, {"ecs:UpdateService", "codedeploy:CreateDeployment",
                                  "cloudformation:CreateStack", "iam:PassRole"}),
        ("ecs", {"ecs:UpdateService", "ecs:RegisterTaskDefinition", "iam:PassRole"},
         {"codedeploy:CreateDeployment", "cloudformation:CreateStack"}),
        ("codedeploy-ecs", {"codedeploy:CreateDeployment", "codedeploy:GetDeploymentConfig",
                            "ecs:RegisterTaskDefinition", "iam:PassRole"},
         {"ecs:UpdateService", "cloudformation:CreateStack"}),
        ("codedeploy-ec2", {"codedeploy:CreateDeployment", "codedeploy:GetApplication"},
         {"ecs:RegisterTaskDefinition", "iam:PassRole", "cloudformation:CreateStack"}),
        ("cloudformation", {"cloudformation:CreateChangeSet", "cloudformation:ValidateTemplate",
                            "iam:PassRole"}, {"ecs:UpdateService", "codedeploy:CreateDeployment"}),
    ],
)
def test_pipeline_role_grants_only_the_chosen_deploy_target(deploy, present, absent):
    """And only the CloudFormation target gets a stack role, the one role it may pass."""
    p = Params(deploy_provider=deploy)
    actions = _actions(_spec(p, "codepipeline.amazonaws.com"))
    assert present <= actions
    assert not absent & actions


@pytest.mark.parametrize(
    "source, repo, source_sids",
    [
        ("github", "acme/app", {"SourceConnection"}),
        ("codecommit", "app", {"SourceRepository"}),
        ("s3", "src-bucket/app.zip", {"SourceObject", "SourceBucket"}),
    ],
)
def test_pipeline_role_grants_only_the_chosen_source(source, repo, source_sids):
    p = Params(source_provider=source, source_repo=repo)
    sids = {s["Sid"] for s in _statements(_spec(p, "codepipeline.amazonaws.com"))}
    assert {sid for sid in sids if sid.startswith("Source")} == source_sids


@pytest.mark.parametrize("prefix", ["codeconnections", "codestar-connections"])
def test_connection_action_prefix_matches_the_connection_arn(prefix):
    arn = f"arn:aws:{prefix}:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666"
    p = Params(connection_arn=arn)
    (statement,) = [s for s in _statements(_spec(p, "codepipeline.amazonaws.com"))
                    if s["Sid"] == "SourceConnection"]
    assert statement["Action"] == [f"{prefix}:UseConnection"]
    assert statement["Resource"] == [arn]


@pytest.mark.parametrize(
    "template, kms, ecr, kms_statement",
    [("nodejs", "", False, False), ("docker", "", True, False), ("python", KEY_ARN, False, True),
     ("docker", ALIAS_ARN, True, True)],
)
def test_build_role_ecr_only_for_docker_and_kms_only_when_given(template, kms, ecr,
                                                                kms_statement):
    p = Params(build_template=template, kms_key_arn=kms)
    actions = _actions(_spec(p, "codebuild.amazonaws.com"))
    assert ("ecr:PutImage" in actions) is ecr
    assert ("ecr:GetAuthorizationToken" in actions) is ecr
    assert ("kms:Decrypt" in actions) is kms_statement


def test_alias_arn_is_matched_through_the_key_alias_condition():
    p = Params(kms_key_arn=ALIAS_ARN)
    (statement,) = [s for s in _statements(_spec(p, "codebuild.amazonaws.com"))
                    if s["Sid"] == "ArtifactKey"]
    assert statement["Resource"] == ["arn:aws:kms:us-east-1:123456789012:key/*"]
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/app-artifacts"}}


def test_build_role_is_scoped_to_the_project_log_group_and_app_prefixes():
    p = Params()
    names = p.names()
    by_sid = {s["Sid"]: s for s in _statements(_spec(p, "codebuild.amazonaws.com"))}
    assert by_sid["BuildLogs"]["Resource"] == [names.log_group_arn, names.log_group_arn + ":*"]
    assert by_sid["ConfigParameters"]["Resource"] == [
        "arn:aws:ssm:us-east-1:123456789012:parameter/sample-app/staging/*"]
    assert by_sid["Secrets"]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:sample-app/staging/*"]
    assert by_sid["TestReports"]["Resource"] == [
        "arn:aws:codebuild:us-east-1:123456789012:report-group/sample-app-build-*"]
    assert by_sid["ArtifactAndCacheObjects"]["Resource"] == [
        names.artifact_bucket_arn + "/sample-app-pipeline/*",
        names.artifact_bucket_arn + "/cache/sample-app-build/*"]


def _allowed(statements: list[dict], action: str, arn: str) -> bool:
    """IAM's wildcard match of a resource ARN against the statements allowing ``action``."""
    import fnmatch

    return any(action in s["Action"] and any(fnmatch.fnmatchcase(arn, r) for r in s["Resource"])
               for s in statements if s["Effect"] == "Allow")


@pytest.mark.parametrize("action, resource, allowed", [
    ("s3:PutObject", "BUCKET/sample-app-pipeline/BuildArtif/abc.zip", True),
    ("s3:GetObject", "BUCKET/sample-app-pipeline/SourceArti/abc.zip", True),
    ("s3:PutObject", "BUCKET/cache/sample-app-build/node_modules.tgz", True),
    ("s3:PutObject", "BUCKET/audit/approvals/sample-app-pipeline/x.json", False),
    ("s3:GetObject", "BUCKET/audit/approvals/sample-app-pipeline/x.json", False),
    ("s3:PutObject", "BUCKET/other-pipeline/BuildArtif/abc.zip", False),
    ("ssm:GetParameters", "SSM/sample-app/staging/LOG_LEVEL", True),
    ("ssm:GetParameters", "SSM/sample-app/production/LOG_LEVEL", False),
    ("secretsmanager:GetSecretValue", "SECRET/sample-app/staging/API_KEY-AbCdEf", True),
    ("secretsmanager:GetSecretValue", "SECRET/sample-app/production/API_KEY-AbCdEf", False),
], ids=lambda v: v if isinstance(v, str) else None)
def test_build_role_reaches_only_its_artifacts_cache_and_build_environment(action, resource,
                                                                          allowed):
    p = Params()
    names = p.names()
    arn = (resource.replace("BUCKET", names.artifact_bucket_arn)
           .replace("SSM/", "arn:aws:ssm:us-east-1:123456789012:parameter/")
           .replace("SECRET/", "arn:aws:secretsmanager:us-east-1:123456789012:secret:"))
    statements = _statements(_spec(p, "codebuild.amazonaws.com"))
    assert _allowed(statements, action, arn) is allowed


def test_generator_refuses_star_for_an_unlisted_action():
    with pytest.raises(ValueError, match="STAR_ONLY_ACTIONS"):
        policies._star("Broad", ["s3:GetObject"])
    with pytest.raises(ValueError):
        policies._allow("Broad", ["s3:GetObject"], ["*"])


def test_star_allow_list_documents_reason_and_reference():
    for action, entry in policies.STAR_ONLY_ACTIONS.items():
        assert ":" in action and entry.reason
        assert entry.reference.startswith("https://docs.aws.amazon.com/")


# -- breadth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, document, expected",
    [
        ("one scoped statement",
         {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                         "Resource": ["arn:aws:s3:::b/*"]}]},
         iam.Breadth(1, 2, 0, 0, 1.0)),
        ("scalar action on star",
         {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}},
         iam.Breadth(1, 1, 1, 1, 0.0)),
        ("mixed",
         {"Statement": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"],
                         "Resource": "*"},
                        {"Effect": "Allow", "Action": ["ecr:PutImage", "ecr:BatchGetImage",
                                                       "ecr:UploadLayerPart"],
                         "Resource": ["arn:aws:ecr:us-east-1:123456789012:repository/a"]}]},
         iam.Breadth(2, 4, 0, 1, 0.75)),
        ("empty", {"Statement": []}, iam.Breadth(0, 0, 0, 0, 1.0)),
    ],
)
def test_policy_breadth(case, document, expected):
    assert iam.policy_breadth(document) == expected, case


def test_generated_policies_are_narrower_than_console_defaults():
    p = Params(build_template="docker", deploy_provider="ecs")
    build = iam.policy_breadth(_spec(p, "codebuild.amazonaws.com").permissions)
    pipeline = iam.policy_breadth(_spec(p, "codepipeline.amazonaws.com").permissions)
    assert build.wildcard_actions == pipeline.wildcard_actions == 0
    assert build.wildcard_resources == 1 and pipeline.wildcard_resources == 1
    assert build.resource_scoped_share > iam.CONSOLE_CODEBUILD_DEFAULT.resource_scoped_share
    assert pipeline.actions < iam.CONSOLE_CODEPIPELINE_DEFAULT.actions
    rows = iam.breadth_rows(p, p.names())
    assert [r[0] for r in rows] == ["sample-app-codebuild", "console default CodeBuild role",
                                    "sample-app-codepipeline",
                                    "console default CodePipeline role"]
    assert all(len(r) == len(iam.BREADTH_HEADERS) for r in rows)


# -- parsing and diffs --------------------------------------------------------------------------


DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                               "Resource": "arn:aws:s3:::b/*"}]}


@pytest.mark.parametrize(
    "case, raw",
    [("dict", DOC), ("json", json.dumps(DOC)), ("url-encoded json", quote(json.dumps(DOC)))],
)
def test_parse_document_accepts_every_form_iam_returns(case, raw):
    assert iam.parse_document(raw) == DOC, case


def test_document_diff_matches_statements_by_sid_both_ways():
    desired = policies.codebuild_permissions(Params(), Params().names())
    current = json.loads(json.dumps(desired))
    current["Statement"][0]["Action"].append("logs:DeleteLogGroup")
    current["Statement"].append({"Sid": "HandAdded", "Effect": "Allow", "Action": "s3:*",
                                 "Resource": "*"})
    del current["Statement"][1]
    lines = iam.document_diff(current, desired)
    assert any(line.startswith("Statement.[BuildLogs].Action") for line in lines)
    assert any(line.startswith("Statement.[ArtifactAndCacheObjects]: (absent) ->")
               for line in lines)
    assert any(line.startswith("Statement.[HandAdded]:") and line.endswith("-> (absent)")
               for line in lines)
    assert iam.document_diff(desired, desired) == []


def test_stack_role_reaches_only_the_sample_templates_resources_of_the_two_stacks():
    p = Params(deploy_provider="cloudformation")
    names = p.names()
    role = _spec(p, "cloudformation.amazonaws.com")
    assert role.name == "sample-app-cloudformation"
    resources = {r for s in _statements(role) for r in _as_list(s["Resource"])}
    assert resources == {
        "arn:aws:ssm:us-east-1:123456789012:parameter/sample-app-staging/release",
        "arn:aws:ssm:us-east-1:123456789012:parameter/sample-app-production/release",
        "arn:aws:sns:us-east-1:123456789012:sample-app-staging-alerts",
        "arn:aws:sns:us-east-1:123456789012:sample-app-production-alerts"}
    pipeline = _spec(p, "codepipeline.amazonaws.com")
    (passed,) = [s for s in _statements(pipeline) if "iam:PassRole" in _as_list(s["Action"])]
    assert passed["Resource"] == [names.role_arn(role.name)]
    cfn = {r for s in _statements(pipeline) for a in _as_list(s["Action"])
           if a.startswith("cloudformation:") and a != "cloudformation:ValidateTemplate"
           for r in _as_list(s["Resource"])}
    assert cfn == {names.arn("cloudformation", f"stack/{s}/*")
                   for s in names.cloudformation_stacks}
    assert all(s.service != "cloudformation.amazonaws.com"
               for s in policies.role_specs(Params(), Params().names()))
