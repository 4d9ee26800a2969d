"""CodePipeline's declaration rules, as the local AWS enforces them before storing a pipeline.

A declaration CodePipeline would refuse is refused here with the same error code
(``InvalidStructureException`` for structure, ``ValidationException`` for field formats), so a
pipeline that works locally is one AWS accepts. Stage conditions are checked with the rules the
suite itself uses (:mod:`runbook_lib.core.stage_conditions`): a V1 pipeline with conditions, a
block with more than one condition, a result the block does not allow, SKIP with other rules
than VariableCheck or LambdaInvoke, a retry combined with conditions are all refused.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from runbook_lib.core.stage_conditions import stage_condition_problems
from runbook_lib.local.server.wire import AwsError

_NAME_RE = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
_ARTIFACT_RE = re.compile(r"^[a-zA-Z0-9_\-]{1,100}$")
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9@\-_]{1,100}$")
_MODES = ("QUEUED", "SUPERSEDED", "PARALLEL")
_REVISION_TYPES = ("COMMIT_ID", "IMAGE_DIGEST", "S3_OBJECT_VERSION_ID", "S3_OBJECT_KEY")
_ACTION_DEFAULTS = {"runOrder": 1, "configuration": {}, "inputArtifacts": [],
                    "outputArtifacts": []}


def with_defaults(declaration: dict[str, Any]) -> dict[str, Any]:
    """What CodePipeline fills in: action defaults, V1 and SUPERSEDED when not declared."""
    out = copy.deepcopy(declaration)
    out.pop("version", None)
    out.setdefault("pipelineType", "V1")
    out.setdefault("executionMode", "SUPERSEDED")
    for stage in out.get("stages") or []:
        stage["actions"] = [{**copy.deepcopy(_ACTION_DEFAULTS), **a}
                            for a in stage.get("actions") or []]
    return out


def validate_declaration(d: dict[str, Any]) -> None:
    """CodePipeline's structure rules; a broken one is an ``InvalidStructureException``."""
    if not _NAME_RE.match(d.get("name") or ""):
        raise AwsError("ValidationException", f"Invalid pipeline name {d.get('name')!r}")
    if not d.get("roleArn"):
        raise AwsError("ValidationException", "roleArn is required")
    store = d.get("artifactStore") or {}
    if not (store.get("location") and store.get("type") == "S3") and not d.get("artifactStores"):
        _invalid("an artifactStore of type S3 with a location is required")
    if d["executionMode"] not in _MODES or d["pipelineType"] not in ("V1", "V2"):
        raise AwsError("ValidationException", "executionMode or pipelineType is not valid")
    stages = d.get("stages") or []
    if len(stages) < 2:
        _invalid("A pipeline must contain at least two stages")
    produced: set[str] = set()
    seen_stages: set[str] = set()
    namespaces: set[str] = set()
    for index, stage in enumerate(stages):
        _check_name(stage.get("name"), "stage", seen_stages)
        actions = stage.get("actions") or []
        if not actions:
            _invalid(f"Stage {stage['name']} must contain at least one action")
        sources = [a for a in actions if a.get("actionTypeId", {}).get("category") == "Source"]
        if index == 0 and len(sources) != len(actions):
            _invalid("The first stage may contain only source actions")
        if index > 0 and sources:
            _invalid(f"Source actions are allowed only in the first stage, not {stage['name']}")
        _check_actions(stage["name"], actions, produced, namespaces)
        problems = stage_condition_problems(stage, d["pipelineType"])
        if problems:
            _invalid(f"Stage {stage['name']}: {problems[0]}")


def _check_actions(stage: str, actions: list[dict[str, Any]], produced: set[str],
                   namespaces: set[str]) -> None:
    names: set[str] = set()
    for order in sorted({a["runOrder"] for a in actions}):
        if not isinstance(order, int) or not 1 <= order <= 999:
            _invalid(f"runOrder in stage {stage} must be between 1 and 999")
        new: set[str] = set()
        for action in [a for a in actions if a["runOrder"] == order]:
            _check_name(action.get("name"), f"action in stage {stage}", names)
            type_id = action.get("actionTypeId") or {}
            if not all(type_id.get(k) for k in ("category", "owner", "provider", "version")):
                _invalid(f"Action {action['name']} needs a full actionTypeId")
            namespace = action.get("namespace")
            if namespace:
                if not _NAMESPACE_RE.match(namespace) or namespace in namespaces:
                    _invalid(f"Namespace {namespace!r} is invalid or used twice")
                namespaces.add(namespace)
            for artifact in action["inputArtifacts"]:
                if artifact.get("name") not in produced:
                    _invalid(f"Input artifact {artifact.get('name')!r} of action "
                             f"{action['name']} is not produced by an earlier action")
            for artifact in action["outputArtifacts"]:
                name = artifact.get("name") or ""
                if not _ARTIFACT_RE.match(name) or name in produced or name in new:
                    _invalid(f"Output artifact {name!r} is invalid or not unique")
                new.add(name)
        produced.update(new)


def _check_name(name: Any, what: str, seen: set[str]) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise AwsError("ValidationException", f"Invalid {what} name {name!r}")
    if name in seen:
        _invalid(f"Duplicate {what} name {name}")
    seen.add(name)


def check_source_revisions(declaration: dict[str, Any], revisions: list[dict[str, str]]) -> None:
    sources = {a["name"] for a in declaration["stages"][0]["actions"]}
    for revision in revisions:
        if revision.get("actionName") not in sources:
            raise AwsError("ValidationException", f"sourceRevisions names "
                           f"{revision.get('actionName')!r}, which is not a source action")
        if revision.get("revisionType") not in _REVISION_TYPES:
            raise AwsError("ValidationException",
                           f"revisionType must be one of {', '.join(_REVISION_TYPES)}")


def _invalid(message: str) -> None:
    raise AwsError("InvalidStructureException", message)
