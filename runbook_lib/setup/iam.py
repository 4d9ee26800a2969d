"""Setup step 3: the service roles CodeBuild, CodePipeline and EventBridge act as.

Over-permissioned build roles are the usual way a CI system turns into an attacker's foothold:
every commit runs with the build role's rights. The roles here carry one inline policy each,
generated in :mod:`runbook_lib.setup.policies` from the parameters and scoped to the app's own
resources, and a trust policy that names the one project, pipeline or rule allowed to use them.
:func:`policy_breadth` measures a policy so the notebook can compare it with the console's
defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from runbook_lib.core import plan as plans
from runbook_lib.core import tags
from runbook_lib.core.converge import create_or_adopt
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.setup.policies import INLINE_POLICY_NAME, RoleSpec, role_specs

_NOT_FOUND = "NoSuchEntity"


@dataclass(frozen=True)
class RoleState:
    """What IAM holds for one role: its trust policy and tags (inline policy read separately)."""

    name: str
    trust: dict[str, Any]
    tags: dict[str, str]


# -- plan ---------------------------------------------------------------------------------------


def plan_roles(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Create each role, or bring its trust and inline policy back to the generated ones.

    Read calls only; a role of the same name without the suite's tags raises ``NotOwnedError``
    here, before anything is applied.
    """
    iam = session.client("iam")
    plan = Plan("IAM roles")
    for spec in role_specs(params, names):
        plan.changes.extend(_plan_role(iam, spec, params.app_name))
    return plan


def _plan_role(iam, spec: RoleSpec, app_name: str) -> list[plans.Change]:
    state = describe_role(iam, spec.name)
    role_label = f"IAM role {spec.name}"
    policy_label = f"{role_label} policy {INLINE_POLICY_NAME}"
    if state is None:
        return [
            plans.create(role_label, lambda: _create_role(iam, spec, app_name),
                         [f"trusted by {spec.service}"]),
            plans.create(policy_label, lambda: _put_policy(iam, spec),
                         [_statement_count(spec.permissions)]),
        ]
    tags.require_owned(role_label, state.tags, app_name)
    changes = [_converge_document(role_label + " trust", state.trust, spec.trust,
                                  lambda: _update_trust(iam, spec))]
    current_policy = get_inline_policy(iam, spec.name)
    if current_policy is None:
        changes.append(plans.create(policy_label, lambda: _put_policy(iam, spec)))
    else:
        changes.append(_converge_document(policy_label, current_policy, spec.permissions,
                                          lambda: _put_policy(iam, spec)))
    return changes


def _statement_count(document: dict[str, Any]) -> str:
    count = len(document["Statement"])
    return f"{count} statement{'' if count == 1 else 's'}"


def _converge_document(label: str, current: dict[str, Any], desired: dict[str, Any],
                       update_fn) -> plans.Change:
    """Compare whole parsed documents: a statement added by hand is drift too."""
    if current == desired:
        return plans.unchanged(label)
    return plans.update(label, document_diff(current, desired), update_fn, current, desired)


# -- reads --------------------------------------------------------------------------------------


def describe_role(iam, role: str) -> RoleState | None:
    """The role's trust policy and tags, or None when no role has that name.

    GetRole returns the tags too (a role holds at most 50), so no ListRoleTags permission is
    needed.
    """
    try:
        found = iam.get_role(RoleName=role)["Role"]
    except ClientError as err:
        if err.response["Error"]["Code"] == _NOT_FOUND:
            return None
        raise StepError(f"get IAM role {role}: {err}") from err
    return RoleState(role, parse_document(found["AssumeRolePolicyDocument"]),
                     tags.from_tag_list(found.get("Tags")))


def get_inline_policy(iam, role: str, policy: str = INLINE_POLICY_NAME) -> dict[str, Any] | None:
    """The role's inline policy document, or None when it has none of that name."""
    try:
        found = iam.get_role_policy(RoleName=role, PolicyName=policy)
    except ClientError as err:
        if err.response["Error"]["Code"] == _NOT_FOUND:
            return None
        raise StepError(f"get inline policy {policy} of IAM role {role}: {err}") from err
    return parse_document(found["PolicyDocument"])


def parse_document(value: Any) -> dict[str, Any]:
    """A policy document as a dict, whether IAM sent a dict, JSON or URL-encoded JSON."""
    if isinstance(value, Mapping):
        return dict(value)
    text = str(value).strip()
    if not text.startswith("{"):
        text = unquote(text)
    return json.loads(text)


# -- mutations (only ever called from a plan's apply) -------------------------------------------


def _create_role(iam, spec: RoleSpec, app_name: str) -> None:
    def adopt() -> None:
        """The role exists after all (a retry after a lost answer, or a race): converge onto it
        if it is ours, refuse if it is not."""
        state = describe_role(iam, spec.name)
        if state is None:
            raise StepError(f"create IAM role {spec.name}: IAM said it exists, then that it "
                            "does not (deleted meanwhile?). Fix: re-run this step.")
        tags.require_owned(f"IAM role {spec.name}", state.tags, app_name)
        if state.trust != spec.trust:
            _update_trust(iam, spec)

    try:
        create_or_adopt(lambda: iam.create_role(
            RoleName=spec.name,
            AssumeRolePolicyDocument=json.dumps(spec.trust),
            Description=spec.description,
            Tags=tags.as_tag_list(tags.ownership_tags(app_name)),
        ), ("EntityAlreadyExists",), adopt)
    except ClientError as err:
        raise StepError(f"create IAM role {spec.name}: {err}") from err


def _update_trust(iam, spec: RoleSpec) -> None:
    try:
        iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=json.dumps(spec.trust))
    except ClientError as err:
        raise StepError(f"update trust policy of IAM role {spec.name}: {err}") from err


def _put_policy(iam, spec: RoleSpec) -> None:
    try:
        iam.put_role_policy(RoleName=spec.name, PolicyName=INLINE_POLICY_NAME,
                            PolicyDocument=json.dumps(spec.permissions))
    except ClientError as err:
        raise StepError(f"put inline policy {INLINE_POLICY_NAME} on IAM role {spec.name}: "
                        f"{err}") from err


# -- readable diffs -----------------------------------------------------------------------------


def document_diff(current: Any, desired: Any, path: str = "") -> list[str]:
    """Lines naming every difference, both ways; statements are matched by their Sid."""
    if isinstance(current, Mapping) and isinstance(desired, Mapping):
        return _mapping_diff(current, desired, path)
    if isinstance(current, list) and isinstance(desired, list):
        if _all_have_sid(current) and _all_have_sid(desired):
            return _mapping_diff(_by_sid(current), _by_sid(desired), path)
        if len(current) == len(desired):
            return [line for i, (c, d) in enumerate(zip(current, desired, strict=True))
                    for line in document_diff(c, d, f"{path}[{i}]")]
    if current != desired:
        return [f"{path or 'document'}: {_short(current)} -> {_short(desired)}"]
    return []


def _mapping_diff(current: Mapping, desired: Mapping, path: str) -> list[str]:
    lines: list[str] = []
    for key in [*desired, *(k for k in current if k not in desired)]:
        sub = f"{path}.{key}" if path else str(key)
        if key not in current:
            lines.append(f"{sub}: (absent) -> {_short(desired[key])}")
        elif key not in desired:
            lines.append(f"{sub}: {_short(current[key])} -> (absent)")
        else:
            lines.extend(document_diff(current[key], desired[key], sub))
    return lines


def _all_have_sid(items: list) -> bool:
    return bool(items) and all(isinstance(i, Mapping) and "Sid" in i for i in items)


def _by_sid(statements: list[Mapping]) -> dict[str, Mapping]:
    return {f"[{s['Sid']}]": s for s in statements}


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- breadth ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breadth:
    """How much a permissions policy grants, in numbers a reviewer can compare.

    ``wildcard_resources`` counts statements on ``Resource: "*"``; ``resource_scoped_share``
    is the share of granted actions that are limited to named resources.
    """

    statements: int
    actions: int
    wildcard_actions: int
    wildcard_resources: int
    resource_scoped_share: float

    def as_row(self) -> tuple[int, int, int, int, str]:
        return (self.statements, self.actions, self.wildcard_actions, self.wildcard_resources,
                f"{self.resource_scoped_share:.0%}")


BREADTH_HEADERS = ("policy", "statements", "actions", "wildcard actions", 'Resource "*"',
                   "resource-scoped")

# The console's classic default CodePipeline service role policy (AWS-CodePipeline-Service):
# 12 statements, all on Resource "*", 58 actions of which 11 are whole services (s3:*, ecs:*,
# cloudformation:*, ec2:*, ...). "Review the default CodePipeline service role policy",
# https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html (the
# current page shows a narrower template; consoles created the broad one for years).
CONSOLE_CODEPIPELINE_DEFAULT = Breadth(12, 58, 11, 12, 0.0)

# CodeBuild's documented service role policy (logs, CodeCommit GitPull, S3 get/put, ECR pull,
# ECR auth, bucket identity): 7 statements, 13 actions, every one on Resource "*".
# "Create a CodeBuild service role",
# https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html
CONSOLE_CODEBUILD_DEFAULT = Breadth(7, 13, 0, 7, 0.0)


def policy_breadth(document: Mapping[str, Any]) -> Breadth:
    """Count statements, actions, wildcards and the resource-scoped share of a policy."""
    statements = _as_list(document.get("Statement", []))
    actions = wildcard_actions = scoped_actions = star_statements = 0
    for statement in statements:
        granted = _as_list(statement.get("Action", []))
        on_star = "*" in _as_list(statement.get("Resource", []))
        actions += len(granted)
        wildcard_actions += sum("*" in a for a in granted)
        star_statements += on_star
        scoped_actions += 0 if on_star else len(granted)
    share = scoped_actions / actions if actions else 1.0
    return Breadth(len(statements), actions, wildcard_actions, star_statements, share)


def breadth_rows(params: Params, names: ResourceNames) -> list[tuple]:
    """Table rows: each generated policy beside the console default for the same service."""
    console = {"codebuild.amazonaws.com": ("console default CodeBuild role",
                                           CONSOLE_CODEBUILD_DEFAULT),
               "codepipeline.amazonaws.com": ("console default CodePipeline role",
                                              CONSOLE_CODEPIPELINE_DEFAULT)}
    rows: list[tuple] = []
    for spec in role_specs(params, names):
        rows.append((spec.name, *policy_breadth(spec.permissions).as_row()))
        if spec.service in console:
            label, breadth = console[spec.service]
            rows.append((label, *breadth.as_row()))
    return rows


def render_role(spec: RoleSpec) -> str:
    """A role's trust and permissions as indented JSON, for the notebook."""
    return "\n".join([
        f"== {spec.name} ({spec.service})",
        "trust policy:",
        json.dumps(spec.trust, indent=2),
        f"inline policy {INLINE_POLICY_NAME}:",
        json.dumps(spec.permissions, indent=2),
    ])


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
