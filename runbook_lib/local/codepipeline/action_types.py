"""CodePipeline's action type registry: the built-in types, custom ones, and what may be declared.

``ListActionTypes`` lists AWS's and partners' types (:mod:`action_catalog`) and the region's
custom ones; ``CreateCustomActionType`` / ``DeleteCustomActionType`` manage custom types (a
deleted id can never be used again, as on AWS: a new version is needed); ``GetActionType`` and
``UpdateActionType`` speak the newer ``ActionTypeDeclaration`` shape for AWS and ThirdParty
types. :meth:`ActionTypes.check_declaration` is what CreatePipeline and UpdatePipeline call: an
action whose type does not exist is refused with AWS's own error and wording.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codepipeline import action_catalog
from runbook_lib.local.codepipeline.actions import supported_action_types
from runbook_lib.local.codepipeline.pipeline_views import LIST_ACTION_TYPES
from runbook_lib.local.server.paging import page
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

CATEGORIES = ("Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute")
_PROVIDER = re.compile(r"^[0-9A-Za-z_-]{1,35}$")
_VERSION = re.compile(r"^[0-9A-Za-z_-]{1,9}$")
OPERATIONS = ("ListActionTypes", "CreateCustomActionType", "DeleteCustomActionType",
              "GetActionType", "UpdateActionType")


def type_key(type_id: dict[str, Any]) -> str:
    return "/".join(str(type_id.get(k, "")) for k in ("category", "owner", "provider", "version"))


def describe(type_id: dict[str, Any]) -> str:
    """AWS's words for an action type id in its errors."""
    return (f"ActionType (Category: '{type_id.get('category')}', Provider: "
            f"'{type_id.get('provider')}', Owner: '{type_id.get('owner')}', Version: "
            f"'{type_id.get('version')}')")


class ActionTypes:
    """The registry; custom types and updated declarations are kept in the state folder."""

    def __init__(self, ctx: LocalContext) -> None:
        # {region: {"custom": {key: ActionType + tags}, "deleted": [key], "declarations": {}}}
        self.store = JsonStore(ctx.state_dir / "codepipeline-action-types.json", {})

    def routes(self):
        return {("codepipeline", op): getattr(self, _snake(op)) for op in OPERATIONS}

    # -- Python API ---------------------------------------------------------------------------

    def find(self, region: str, type_id: dict[str, Any]) -> dict[str, Any] | None:
        """The ActionType with this id in ``region``, or None when it does not exist."""
        if type_id.get("owner") == "Custom":
            with self.store.lock:
                found = self._region(region)["custom"].get(type_key(type_id))
            return {k: v for k, v in copy.deepcopy(found).items() if k != "tags"} if found \
                else None
        return action_catalog.builtin(*(str(type_id.get(k, "")) for k in
                                        ("category", "owner", "provider", "version")))

    def check_declaration(self, region: str, declaration: dict[str, Any]) -> None:
        """Refuse a pipeline declaring an action type that does not exist, as AWS does."""
        for stage in declaration.get("stages") or []:
            for action in stage.get("actions") or []:
                type_id = action.get("actionTypeId") or {}
                where = action.get("region") or region
                runnable = (type_id.get("owner") != "Custom" and
                            (type_id.get("category"), type_id.get("provider"))
                            in supported_action_types())  # an executor registered here
                if self.find(where, type_id) is None and not runnable:
                    raise AwsError("InvalidActionDeclarationException",
                                   f"{describe(type_id)} in action '{action.get('name')}' is "
                                   f"not available in region '{where.upper().replace('-', '_')}'")

    # -- operations ---------------------------------------------------------------------------

    def list_action_types(self, request: Request) -> Response:
        body = request.json()
        owner = body.get("actionOwnerFilter")
        if owner and owner not in ("AWS", "ThirdParty", "Custom"):
            raise AwsError("ValidationException", "actionOwnerFilter must be AWS, ThirdParty or "
                                                  "Custom")
        region = body.get("regionFilter") or request.region
        with self.store.lock:
            custom = [{k: v for k, v in t.items() if k != "tags"}
                      for t in self._region(region)["custom"].values()]
        types = action_catalog.builtin_types() + copy.deepcopy(custom)
        types = [t for t in types if not owner or t["id"]["owner"] == owner]
        return json_response(page(types, body, LIST_ACTION_TYPES))

    def create_custom_action_type(self, request: Request) -> Response:
        body = request.json()
        type_id = {"category": body.get("category"), "owner": "Custom",
                   "provider": body.get("provider"), "version": body.get("version")}
        _check_id(type_id)
        action_type = {"id": type_id, "settings": body.get("settings") or {},
                       "actionConfigurationProperties": _properties(body),
                       "inputArtifactDetails": _artifacts(body, "inputArtifactDetails"),
                       "outputArtifactDetails": _artifacts(body, "outputArtifactDetails")}
        key = type_key(type_id)
        with self.store.transaction():
            region = self._region(request.region)
            if key in region["deleted"]:
                raise AwsError("ValidationException", f"{describe(type_id)} was deleted; a "
                               "deleted custom action type cannot be created again: use a "
                               "version never used before")
            existing = region["custom"].get(key)
            if existing and {k: v for k, v in existing.items() if k != "tags"} != action_type:
                raise AwsError("ValidationException", f"{describe(type_id)} already exists "
                               "with another definition; create a new version instead")
            region["custom"][key] = {**action_type, "tags": body.get("tags") or []}
        answer: dict[str, Any] = {"actionType": action_type}
        if body.get("tags"):
            answer["tags"] = body["tags"]
        return json_response(answer)

    def delete_custom_action_type(self, request: Request) -> Response:
        body = request.json()
        type_id = {"category": body.get("category"), "owner": "Custom",
                   "provider": body.get("provider"), "version": body.get("version")}
        _check_id(type_id)
        key = type_key(type_id)
        with self.store.transaction():
            region = self._region(request.region)
            if region["custom"].pop(key, None) is not None:
                region["deleted"].append(key)
        return json_response({})

    def get_action_type(self, request: Request) -> Response:
        body = request.json()
        type_id = {k: body.get(k) for k in ("category", "owner", "provider", "version")}
        if type_id["owner"] not in ("AWS", "ThirdParty"):
            raise AwsError("ValidationException", "owner must be AWS or ThirdParty")
        with self.store.lock:
            declared = self._region(request.region)["declarations"].get(type_key(type_id))
        if declared:
            return json_response({"actionType": copy.deepcopy(declared)})
        found = self.find(request.region, type_id)
        if found is None:
            raise AwsError("ActionTypeNotFoundException", f"{describe(type_id)} is not available")
        return json_response({"actionType": declaration_of(found)})

    def update_action_type(self, request: Request) -> Response:
        declaration = request.json().get("actionType") or {}
        type_id = declaration.get("id") or {}
        if type_id.get("owner") == "AWS":
            raise AwsError("RequestFailedException", f"{describe(type_id)} is owned by AWS and "
                           "cannot be updated")
        if self.find(request.region, type_id) is None:
            raise AwsError("ActionTypeNotFoundException", f"{describe(type_id)} is not available")
        with self.store.transaction():
            self._region(request.region)["declarations"][type_key(type_id)] = declaration
        return json_response({})

    def _region(self, region: str) -> dict[str, Any]:
        return self.store.data.setdefault(region, {"custom": {}, "deleted": [],
                                                   "declarations": {}})


def declaration_of(action_type: dict[str, Any]) -> dict[str, Any]:
    """An ``ActionType`` in the ``ActionTypeDeclaration`` shape GetActionType answers with."""
    return {
        "id": action_type["id"],
        "executor": {"configuration": {"jobWorkerExecutorConfiguration": {}},
                     "type": "JobWorker"},
        "inputArtifactDetails": action_type["inputArtifactDetails"],
        "outputArtifactDetails": action_type["outputArtifactDetails"],
        "properties": [{"name": p["name"], "optional": not p["required"], "key": p["key"],
                        "noEcho": p["secret"], "queryable": p.get("queryable", False)}
                       for p in action_type["actionConfigurationProperties"]],
    }


def _check_id(type_id: dict[str, Any]) -> None:
    if type_id["category"] not in CATEGORIES:
        raise AwsError("ValidationException", f"category must be one of {', '.join(CATEGORIES)}")
    if not _PROVIDER.match(type_id["provider"] or ""):
        raise AwsError("ValidationException", "provider must be 1 to 35 letters, digits, _ or -")
    if not _VERSION.match(type_id["version"] or ""):
        raise AwsError("ValidationException", "version must be 1 to 9 letters, digits, _ or -")


def _properties(body: dict[str, Any]) -> list[dict[str, Any]]:
    properties = copy.deepcopy(body.get("configurationProperties") or [])
    if len(properties) > 10:
        raise AwsError("ValidationException", "A custom action type has at most 10 "
                                              "configuration properties")
    if sum(1 for p in properties if p.get("queryable")) > 1:
        raise AwsError("ValidationException", "At most one configuration property can be "
                                              "queryable")
    for prop in properties:
        if prop.get("queryable") and (not prop.get("required") or prop.get("secret")):
            raise AwsError("ValidationException", f"Queryable property {prop.get('name')} must "
                                                  "be required and not secret")
    return properties


def _artifacts(body: dict[str, Any], key: str) -> dict[str, int]:
    details = body.get(key) or {}
    low, high = details.get("minimumCount"), details.get("maximumCount")
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 5):
        raise AwsError("ValidationException", f"{key} needs 0 <= minimumCount <= maximumCount "
                                              "<= 5")
    return {"minimumCount": low, "maximumCount": high}


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
