"""IAM service roles on the shared local AWS (moto IAM over real HTTP): plans create tagged
roles, converge with no mutating call, repair hand edits, refuse look-alikes."""

from __future__ import annotations

import json

import pytest
from helpers import assert_converged

from runbook_lib.core.errors import NotOwnedError
from runbook_lib.core.params import Params
from runbook_lib.core.tags import as_tag_list, ownership_tags
from runbook_lib.setup import iam, policies

# -- plans against the local AWS ----------------------------------------------------------------


def _codecommit_params(app_name: str) -> Params:
    return Params(app_name=app_name, source_provider="codecommit", source_repo=app_name,
                  build_template="docker", deploy_provider="ecs")


def test_plan_creates_tagged_roles_with_trust_and_scoped_policy(session, app_name):
    p = _codecommit_params(app_name)
    names = p.names()
    plan = iam.plan_roles(session, p, names)
    assert plan.counts() == {"create": 6, "update": 0, "delete": 0, "unchanged": 0}
    assert session.recorder.mutating_count == 0, "planning must not change anything"
    plan.apply()
    client = session.client("iam")
    for spec in policies.role_specs(p, names):
        role = client.get_role(RoleName=spec.name)["Role"]
        assert iam.parse_document(role["AssumeRolePolicyDocument"]) == spec.trust
        tags = client.list_role_tags(RoleName=spec.name)["Tags"]
        assert sorted(tags, key=lambda t: t["Key"]) == as_tag_list(ownership_tags(app_name))
        assert iam.get_inline_policy(client, spec.name) == spec.permissions


def test_converged_rerun_makes_zero_mutating_calls(session, params, names):
    iam.plan_roles(session, params, names).apply()
    plan = assert_converged(session, lambda: iam.plan_roles(session, params, names).apply())
    assert plan.counts()["unchanged"] == 4
    assert "no changes" in plan.summary()


def test_hand_edited_policy_and_trust_are_planned_back(session, params, names):
    iam.plan_roles(session, params, names).apply()
    client = session.client("iam")
    role = names.codebuild_role
    widened = iam.get_inline_policy(client, role)
    widened["Statement"].append({"Sid": "HandAdded", "Effect": "Allow", "Action": "s3:*",
                                 "Resource": "*"})
    client.put_role_policy(RoleName=role, PolicyName=policies.INLINE_POLICY_NAME,
                           PolicyDocument=json.dumps(widened))
    loose_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    client.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(loose_trust))

    plan = iam.plan_roles(session, params, names)
    updates = {c.resource: c for c in plan.changes if c.action == "update"}
    assert set(updates) == {f"IAM role {role} trust",
                            f"IAM role {role} policy {policies.INLINE_POLICY_NAME}"}
    policy_diff = updates[f"IAM role {role} policy {policies.INLINE_POLICY_NAME}"].diff
    assert any("[HandAdded]" in line and line.endswith("(absent)") for line in policy_diff)
    trust_diff = updates[f"IAM role {role} trust"].diff
    assert any("Condition: (absent) ->" in line for line in trust_diff)
    assert "~ update" in plan.render()

    plan.apply()
    assert_converged(session, lambda: iam.plan_roles(session, params, names))


def test_missing_inline_policy_is_planned_as_create(session, params, names):
    iam.plan_roles(session, params, names).apply()
    session.client("iam").delete_role_policy(RoleName=names.codepipeline_role,
                                             PolicyName=policies.INLINE_POLICY_NAME)
    plan = iam.plan_roles(session, params, names)
    assert [c.resource for c in plan.changes if c.action == "create"] == [
        f"IAM role {names.codepipeline_role} policy {policies.INLINE_POLICY_NAME}"]


@pytest.mark.parametrize(
    "case, tags",
    [("untagged", []),
     ("another app's role", as_tag_list({"runbook:managed-by": "pipeline-runbooks",
                                         "runbook:app": "someone-else"}))],
)
def test_look_alike_role_is_refused_and_left_alone(session, params, names, case, tags):
    client = session.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    client.create_role(RoleName=names.codebuild_role, AssumeRolePolicyDocument=trust,
                       **({"Tags": tags} if tags else {}))
    session.recorder.reset()
    with pytest.raises(NotOwnedError) as err:
        iam.plan_roles(session, params, names)
    assert names.codebuild_role in err.value.resource, case
    assert session.recorder.mutating_count == 0
    role = client.get_role(RoleName=names.codebuild_role)["Role"]
    assert iam.parse_document(role["AssumeRolePolicyDocument"]) == json.loads(trust)
    assert iam.get_inline_policy(client, names.codebuild_role) is None
