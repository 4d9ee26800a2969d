"""CodePipeline (V1) webhooks: ``PutWebhook``, ``ListWebhooks``, ``DeleteWebhook``, and the URL.

A webhook names a pipeline's source action and filters (a JSONPath into the pushed event and
the value it must equal, which may quote the action's configuration as ``{Branch}``). Its URL
is served by the local AWS itself (``/webhooks/trigger?t=TOKEN&v=1``, the token unguessable):
a POST of a GitHub-shaped push whose filters all match starts the pipeline (trigger
``Webhook``), pinned to the push's ``after`` commit. Authentication as on AWS: GITHUB_HMAC
checks ``X-Hub-Signature-256`` (or ``X-Hub-Signature``) against the secret token, IP checks
the caller's address against ``AllowedIPRange``, UNAUTHENTICATED checks nothing but the URL's
token. ``RegisterWebhookWithThirdParty`` and its inverse answer as AWS does; there is no GitHub
to configure here, so the push is POSTed by whoever rehearses it.

JSONPath subset: ``$`` followed by ``.name``, ``['name']`` and ``[index]`` steps.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from runbook_lib.local.codepipeline.pipeline_views import LIST_WEBHOOKS
from runbook_lib.local.codepipeline.records import ACCOUNT_ID
from runbook_lib.local.codepipeline.service import CodePipelineService
from runbook_lib.local.server.paging import page
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_error, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

TRIGGER_PATH = "/webhooks/trigger"
_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\['([^']*)'\]|\[(\d+)\]")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
OPERATIONS = ("PutWebhook", "ListWebhooks", "DeleteWebhook", "RegisterWebhookWithThirdParty",
              "DeregisterWebhookWithThirdParty")


class Webhooks:
    """Webhook definitions by region and name, and the trigger URL they answer on."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codepipeline-webhooks.json", {})

    def routes(self):
        return {("codepipeline", op): getattr(self, _snake(op)) for op in OPERATIONS}

    def paths(self):
        """Unsigned paths this extension answers (it authenticates them itself)."""
        return {TRIGGER_PATH: self.trigger}

    @property
    def pipelines(self) -> CodePipelineService:
        return self.ctx.peers.get(CodePipelineService)

    def put_webhook(self, request: Request) -> Response:
        body = request.json()
        definition = body.get("webhook") or {}
        self._check(request.region, definition)
        name = definition["name"]
        with self.store.transaction():
            hooks = self.store.data.setdefault(request.region, {})
            record = hooks.get(name) or {"token": secrets.token_urlsafe(24),
                                         "arn": f"arn:aws:codepipeline:{request.region}:"
                                                f"{ACCOUNT_ID}:webhook:{name}"}
            record.update(definition=definition, tags=body.get("tags") or record.get("tags")
                          or [])
            hooks[name] = record
            item = self._item(record)
        return json_response({"webhook": item})

    def list_webhooks(self, request: Request) -> Response:
        body = request.json()
        with self.store.lock:
            items = [self._item(r) for _, r in sorted(self.store.data.get(request.region,
                                                                          {}).items())]
        return json_response(page(items, body, LIST_WEBHOOKS))

    def delete_webhook(self, request: Request) -> Response:
        with self.store.transaction():
            self.store.data.get(request.region, {}).pop(request.json().get("name", ""), None)
        return json_response({})

    def register_webhook_with_third_party(self, request: Request) -> Response:
        return self._set_registered(request, True)

    def deregister_webhook_with_third_party(self, request: Request) -> Response:
        return self._set_registered(request, False)

    def _set_registered(self, request: Request, registered: bool) -> Response:
        name = request.json().get("webhookName", "")
        with self.store.transaction():
            record = self.store.data.get(request.region, {}).get(name)
            if record is None:
                raise AwsError("WebhookNotFoundException", f"Webhook {name} was not found")
            record["registered"] = registered
        return json_response({})

    # -- the URL ------------------------------------------------------------------------------

    def trigger(self, request: Request, environ: dict[str, Any]) -> Response:
        """A POST to the webhook URL: authenticate, match the filters, maybe start a run."""
        token = (parse_qs(request.query).get("t") or [""])[0]
        found = self._by_token(token)
        if request.method != "POST" or found is None:
            return json_error("WebhookNotFoundException", "No webhook has this URL", 404)
        region, record = found
        definition = record["definition"]
        refused = _authenticate(definition, request, environ.get("REMOTE_ADDR", ""))
        if refused:
            return json_error("AccessDeniedException", refused, 403)
        try:
            event = json.loads(request.body or b"{}")
        except ValueError:
            return json_error("ValidationException", "The webhook body is not JSON", 400)
        config = self._action_config(region, definition)
        unmatched = [f["jsonPath"] for f in definition["filters"]
                     if not _matches(event, f, config)]
        if unmatched:
            return json_response({"started": False, "unmatchedFilters": unmatched})
        with self.store.transaction():
            record["lastTriggered"] = time.time()
        after = str(event.get("after") or "")
        pinned = _COMMIT.match(after) and after.strip("0")
        revisions = ([{"actionName": definition["targetAction"], "revisionType": "COMMIT_ID",
                       "revisionValue": after}] if pinned else None)
        execution_id = self.pipelines.start_execution(
            region, definition["targetPipeline"], trigger_type="Webhook",
            trigger_detail=record["arn"], source_revisions=revisions)
        return json_response({"started": True, "pipelineExecutionId": execution_id})

    # -- helpers ------------------------------------------------------------------------------

    def _check(self, region: str, definition: dict[str, Any]) -> None:
        for key in ("name", "targetPipeline", "targetAction"):
            if not _NAME.match(str(definition.get(key) or "")):
                raise AwsError("ValidationException", f"webhook.{key} is missing or invalid")
        declaration = self.pipelines._declaration(region, definition["targetPipeline"])
        sources = [a["name"] for a in declaration["stages"][0]["actions"]]
        if definition["targetAction"] not in sources:
            raise AwsError("ValidationException", f"targetAction {definition['targetAction']}"
                           f" is not a source action of {definition['targetPipeline']}")
        filters = definition.get("filters") or []
        if not 1 <= len(filters) <= 5:
            raise AwsError("ValidationException", "A webhook needs 1 to 5 filters")
        for rule in filters:
            if _steps(rule.get("jsonPath", "")) is None:
                raise AwsError("InvalidWebhookFilterPatternException",
                               f"jsonPath {rule.get('jsonPath')!r} is not supported: use $ "
                               "then .name, ['name'] or [index] steps")
        _check_authentication(definition)

    def _item(self, record: dict[str, Any]) -> dict[str, Any]:
        base = self.ctx.endpoint_url or "http://127.0.0.1"
        item = {"definition": record["definition"], "arn": record["arn"],
                "url": f"{base}{TRIGGER_PATH}?t={record['token']}&v=1"}
        if record.get("tags"):
            item["tags"] = record["tags"]
        if record.get("lastTriggered"):
            item["lastTriggered"] = record["lastTriggered"]
        return item

    def _by_token(self, token: str) -> tuple[str, dict[str, Any]] | None:
        with self.store.lock:
            for region, hooks in self.store.data.items():
                for record in hooks.values():
                    if token and hmac.compare_digest(record["token"], token):
                        return region, record
        return None

    def _action_config(self, region: str, definition: dict[str, Any]) -> dict[str, str]:
        declaration = self.pipelines._declaration(region, definition["targetPipeline"])
        for action in declaration["stages"][0]["actions"]:
            if action["name"] == definition["targetAction"]:
                return dict(action.get("configuration") or {})
        return {}


def _check_authentication(definition: dict[str, Any]) -> None:
    kind = definition.get("authentication")
    config = definition.get("authenticationConfiguration") or {}
    if kind == "GITHUB_HMAC" and not config.get("SecretToken"):
        raise AwsError("InvalidWebhookAuthenticationParametersException",
                       "GITHUB_HMAC needs authenticationConfiguration.SecretToken")
    if kind == "IP":
        try:
            ipaddress.ip_network(config.get("AllowedIPRange") or "", strict=False)
        except ValueError as err:
            raise AwsError("InvalidWebhookAuthenticationParametersException",
                           "IP needs authenticationConfiguration.AllowedIPRange as a CIDR "
                           "block") from err
    if kind not in ("GITHUB_HMAC", "IP", "UNAUTHENTICATED"):
        raise AwsError("ValidationException", "authentication must be GITHUB_HMAC, IP or "
                                              "UNAUTHENTICATED")


def _authenticate(definition: dict[str, Any], request: Request, remote: str) -> str | None:
    """None when the caller passes the webhook's authentication, else why not."""
    kind = definition["authentication"]
    config = definition.get("authenticationConfiguration") or {}
    if kind == "GITHUB_HMAC":
        secret = config["SecretToken"].encode()
        given = request.headers.get("x-hub-signature-256") or ""
        digest = hashlib.sha256
        if not given:
            given, digest = request.headers.get("x-hub-signature") or "", hashlib.sha1
        expected = f"{given.split('=', 1)[0]}=" + hmac.new(secret, request.body,
                                                            digest).hexdigest()
        if not given or not hmac.compare_digest(given, expected):
            return "The X-Hub-Signature-256 header does not match the webhook's secret token"
    if kind == "IP":
        network = ipaddress.ip_network(config["AllowedIPRange"], strict=False)
        try:
            if ipaddress.ip_address(remote) not in network:
                return f"{remote} is not in the webhook's AllowedIPRange"
        except ValueError:
            return "The caller's address is unknown"
    return None


def _steps(path: str) -> list[str | int] | None:
    """The steps of a supported JSONPath, or None."""
    if not path.startswith("$"):
        return None
    steps: list[str | int] = []
    rest = path[1:]
    while rest:
        match = _STEP.match(rest)
        if not match:
            return None
        name, quoted, index = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None
                                                          else quoted))
        rest = rest[match.end():]
    return steps


def _matches(event: Any, rule: dict[str, Any], config: dict[str, str]) -> bool:
    """Whether the event has a value at the rule's path (equal to matchEquals, if given)."""
    value = event
    for step in _steps(rule["jsonPath"]) or []:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return False
    wanted = rule.get("matchEquals")
    if wanted is None:
        return True
    wanted = re.sub(r"\{(\w+)\}", lambda m: config.get(m.group(1), m.group(0)), wanted)
    return str(value) == wanted


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
