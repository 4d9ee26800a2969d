"""Setup step 7: the CodePipeline that carries one commit from source to production.

Source -> Build -> Deploy-<staging> -> Approve-<production> -> Deploy-<production>, as a V2
pipeline:

- only the configured branch starts a run: a GitPush trigger filtered to ``source_branch`` for
  connection sources (GitHub, GitLab, Bitbucket). CodeCommit and S3 sources have no triggers;
  their change detection is an EventBridge rule, which this step does not create;
- the build gets the commit id as ``COMMIT_SHA``, so artifacts and images are versioned by it;
- a manual approval sits between staging and production; SNS tells the approvers and the
  pipeline's history keeps who decided and why (the audit trail);
- deploy stages roll back to the last successful execution when they fail (``onFailure``
  ROLLBACK; AWS offers no stage rollback in PARALLEL mode, so that mode declares none);
- release gates (V2 stage conditions: deployment window, alarm gate, post-deploy watch,
  automatic build retry, staging skip) come from parameters, see :mod:`.gates`, and are checked
  against AWS's documented rules before any API call.

The approval topic is created here too, since the pipeline names it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.converge import (
    create_or_adopt,
    role_exists_check,
    while_role_propagates,
)
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, create, diff_values, unchanged, update
from runbook_lib.core.session import AwsSession
from runbook_lib.core.tags import as_tag_list, from_tag_list, ownership_tags, require_owned
from runbook_lib.setup import deploy_actions as actions
from runbook_lib.setup import gates
from runbook_lib.setup.pipeline_shape import PipelineShape, shape_from_declaration

ROLLBACK = {"result": "ROLLBACK"}

# Filled in by CodePipeline on every declaration; the suite never declares them.
_SERVER_FIELDS = ("version",)
# Returned on actions by some accounts although not declared; the suite's actions all run in
# the pipeline's own region, so it never declares one.
_ACTION_SERVER_FIELDS = ("region",)
# What CodePipeline (and the local AWS) fill in on an action when the declaration leaves it out.
_ACTION_DEFAULTS = {"runOrder": 1, "configuration": {}, "inputArtifacts": [], "outputArtifacts": []}


# -- the declaration ----------------------------------------------------------------------------


def pipeline_definition(params: Params, names: ResourceNames) -> dict:
    """The pipeline declaration CreatePipeline/UpdatePipeline take; pure, so it is unit-tested
    and diffed against GetPipeline without any AWS call."""
    production = params.production_name
    declaration = {
        "name": names.pipeline,
        "roleArn": names.role_arn(names.codepipeline_role),
        "artifactStore": _artifact_store(params, names),
        "stages": [
            {"name": "Source", "actions": [actions.source_action(params, names)]},
            {"name": "Build", "actions": [actions.build_action(params, names)]},
            _deploy_stage(params, names, 0),
            {"name": f"Approve-{production}", "actions": [actions.approval_action(params, names)]},
            _deploy_stage(params, names, 1),
        ],
        "executionMode": params.execution_mode,
        "pipelineType": "V2",
    }
    if params.uses_connection:
        declaration["triggers"] = [branch_trigger(params.source_branch)]
    _add_gates(params, names, declaration)
    return declaration


def _add_gates(params: Params, names: ResourceNames, declaration: dict) -> None:
    """Merge the release gates into their stages; refuse what AWS would refuse."""
    gates.validate_gate_params(params)
    by_stage = gates.stage_gates(params, names)
    for stage in declaration["stages"]:
        stage.update(by_stage.get(stage["name"], {}))
    variables = gates.pipeline_variables(params)
    if variables:
        declaration["variables"] = variables
    gates.check_declaration(declaration)


def branch_trigger(branch: str) -> dict:
    """A push trigger for one branch: pushes to other branches and tags start nothing."""
    return {
        "providerType": "CodeStarSourceConnection",
        "gitConfiguration": {
            "sourceActionName": actions.SOURCE_ACTION,
            "push": [{"branches": {"includes": [branch]}}],
        },
    }


def _artifact_store(params: Params, names: ResourceNames) -> dict:
    store: dict = {"type": "S3", "location": names.artifact_bucket}
    if params.kms_key_arn:
        store["encryptionKey"] = {"id": params.kms_key_arn, "type": "KMS"}
    return store


def _deploy_stage(params: Params, names: ResourceNames, environment: int) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "name": f"Deploy-{params.environments[environment]}",
        "actions": [actions.deploy_action(params, names, environment)],
    }
    if params.execution_mode != "PARALLEL":
        stage["onFailure"] = dict(ROLLBACK)
    return stage


# -- the plan -----------------------------------------------------------------------------------


def plan_pipeline(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Approval topic, its e-mail subscriptions, then the pipeline; read calls only.

    Subscriptions are only ever added: an address dropped from ``approval_emails`` stays
    subscribed until its owner unsubscribes (a pending one cannot be removed by API).
    """
    plan = Plan("pipeline")
    topic_exists = plan_approval_topic(session, params, names, plan)
    plan_subscriptions(session, params, names, plan, topic_exists)
    plan.add(_pipeline_change(session, params, names))
    return plan


def plan_approval_topic(session: AwsSession, params: Params, names: ResourceNames,
                        plan: Plan) -> bool:
    """Add the topic's change to ``plan``; True when the topic exists already."""
    sns = session.client("sns")
    arn = names.topic_arn(names.approval_topic)
    resource = f"SNS topic {names.approval_topic}"
    if not _topic_exists(sns, arn):
        plan.add(create(resource, lambda: _create_topic(sns, names, params.app_name),
                        [f"tags: {ownership_tags(params.app_name)}"]))
        return False
    tags = from_tag_list(sns.list_tags_for_resource(ResourceArn=arn).get("Tags"))
    require_owned(resource, tags, params.app_name)
    plan.add(unchanged(resource))
    return True


def plan_subscriptions(session: AwsSession, params: Params, names: ResourceNames, plan: Plan,
                       topic_exists: bool) -> None:
    """One change per approval address not yet subscribed (pending confirmation counts)."""
    sns = session.client("sns")
    arn = names.topic_arn(names.approval_topic)
    subscribed = _subscribed_emails(sns, arn) if topic_exists else set()
    for email in params.approval_emails:
        resource = f"e-mail subscription {email} to {names.approval_topic}"
        if email.lower() in subscribed:
            plan.add(unchanged(resource))
        else:
            plan.add(create(resource, _subscribe_fn(sns, arn, email),
                            ["the address must confirm from the e-mail AWS sends"]))


def _pipeline_change(session: AwsSession, params: Params, names: ResourceNames) -> Change:
    cp = session.client("codepipeline")
    desired = pipeline_definition(params, names)
    resource = f"CodePipeline {names.pipeline}"
    current = _get_pipeline(cp, names.pipeline)
    if current is None:
        exists = role_exists_check(session, desired["roleArn"])
        return create(resource, lambda: _create_pipeline(cp, desired, params.app_name, exists),
                      [f"stages: {' -> '.join(s['name'] for s in desired['stages'])}"])
    require_owned(resource, _pipeline_tags(cp, names.pipeline_arn), params.app_name)
    diff = declaration_diff(current, desired)
    if not diff:
        return unchanged(resource)
    return update(resource, diff, lambda: _update_pipeline(cp, desired))


def declaration_diff(current: dict, desired: dict) -> list[str]:
    """Differences between GetPipeline's declaration and the desired one, both ways.

    ``plan.diff_values`` reads only the desired keys; a pipeline edited by hand may also have
    gained a stage setting, a trigger or a configuration key, so keys present only in the
    current declaration count too, apart from what AWS fills in itself.
    """
    current = normalise_declaration(current)
    desired = normalise_declaration(desired)
    return diff_values(current, desired) + _extra_keys(current, desired, "")


def normalise_declaration(declaration: dict) -> dict:
    """A copy without server-side fields and with AWS's action defaults filled in."""
    out = {k: v for k, v in declaration.items() if k not in _SERVER_FIELDS}
    out["stages"] = [
        {**stage, "actions": [_normalise_action(action) for action in stage["actions"]]}
        for stage in declaration.get("stages", [])
    ]
    return out


def _normalise_action(action: dict) -> dict:
    filled = {**_ACTION_DEFAULTS, **action}
    return {k: v for k, v in filled.items() if k not in _ACTION_SERVER_FIELDS}


def _extra_keys(current: object, desired: object, path: str) -> list[str]:
    """Keys only ``current`` has; empty values (an empty trigger list) declare nothing."""
    if isinstance(current, dict) and isinstance(desired, dict):
        lines = []
        for key, value in current.items():
            sub = f"{path}.{key}" if path else str(key)
            if key in desired:
                lines.extend(_extra_keys(value, desired[key], sub))
            elif value not in (None, "", [], {}):
                lines.append(f"{sub}: {value} -> (absent)")
        return lines
    if isinstance(current, list) and isinstance(desired, list) and len(current) == len(desired):
        return [line for i, (c, d) in enumerate(zip(current, desired, strict=True))
                for line in _extra_keys(c, d, f"{path}[{i}]")]
    return []


# -- reads --------------------------------------------------------------------------------------


def _topic_exists(sns, arn: str) -> bool:
    try:
        sns.get_topic_attributes(TopicArn=arn)
    except ClientError as err:
        if err.response["Error"]["Code"] == "NotFound":
            return False
        raise StepError(f"get SNS topic {arn}: {err}") from err
    return True


def _subscribed_emails(sns, arn: str) -> set[str]:
    """E-mail endpoints already on the topic, confirmed or pending."""
    paginator = sns.get_paginator("list_subscriptions_by_topic")
    return {
        sub["Endpoint"].lower()
        for page in paginator.paginate(TopicArn=arn)
        for sub in page.get("Subscriptions", [])
        if sub.get("Protocol") == "email"
    }


def _get_pipeline(cp, name: str) -> dict | None:
    try:
        return cp.get_pipeline(name=name)["pipeline"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "PipelineNotFoundException":
            return None
        raise StepError(f"get pipeline {name}: {err}") from err


def _pipeline_tags(cp, arn: str) -> dict[str, str]:
    paginator = cp.get_paginator("list_tags_for_resource")
    return from_tag_list([tag for page in paginator.paginate(resourceArn=arn)
                          for tag in page.get("tags", [])])


# -- mutations (run only by Plan.apply) ---------------------------------------------------------


def _create_topic(sns, names: ResourceNames, app_name: str) -> None:
    try:
        sns.create_topic(Name=names.approval_topic,
                         Tags=as_tag_list(ownership_tags(app_name)))
    except ClientError as err:
        raise StepError(f"create SNS topic {names.approval_topic}: {err}") from err


def _subscribe_fn(sns, arn: str, email: str):
    def subscribe() -> None:
        try:
            sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
        except ClientError as err:
            raise StepError(f"subscribe {email} to {arn}: {err}") from err

    return subscribe


def _create_pipeline(cp, declaration: dict, app_name: str, role_exists=None) -> None:
    try:
        create_or_adopt(lambda: while_role_propagates(
            lambda: cp.create_pipeline(pipeline=declaration,
                                       tags=as_tag_list(ownership_tags(app_name), "key", "value")),
            f"create pipeline {declaration['name']}", declaration["roleArn"], role_exists),
            ("PipelineNameInUseException",), lambda: _adopt_pipeline(cp, declaration, app_name))
    except ClientError as err:
        raise _pipeline_error("create", declaration, err) from err


def _adopt_pipeline(cp, declaration: dict, app_name: str) -> None:
    """The pipeline exists after all (botocore retried after a lost answer): if it is ours,
    converge onto it."""
    found = cp.get_pipeline(name=declaration["name"])
    require_owned(f"CodePipeline {declaration['name']}",
                  _pipeline_tags(cp, found["metadata"]["pipelineArn"]), app_name)
    if declaration_diff(found["pipeline"], declaration):
        _update_pipeline(cp, declaration)


def _update_pipeline(cp, declaration: dict) -> None:
    try:
        while_role_propagates(lambda: cp.update_pipeline(pipeline=declaration),
                              f"update pipeline {declaration['name']}", declaration["roleArn"])
    except ClientError as err:
        raise _pipeline_error("update", declaration, err) from err


def _pipeline_error(verb: str, declaration: dict, err: ClientError) -> StepError:
    """Name the usual fix: CodePipeline rejects a role it cannot assume as a bad structure."""
    hint = ""
    if err.response["Error"]["Code"] == "InvalidStructureException":
        hint = (f" Fix: apply the IAM step (03_iam_roles) first, so that role "
                f"{declaration['roleArn']} exists and trusts codepipeline.amazonaws.com.")
    return StepError(f"{verb} pipeline {declaration['name']}: {err}.{hint}")


def describe_pipeline(session: AwsSession, params: Params, names: ResourceNames) -> PipelineShape:
    """The deployed pipeline's shape (GetPipeline), or the planned one if it does not exist
    yet, so a plan-only run can still show what would be built."""
    current = _get_pipeline(session.client("codepipeline"), names.pipeline)
    if current is None:
        return shape_from_declaration(pipeline_definition(params, names), deployed=False)
    return shape_from_declaration(current)
