"""Environment config in SSM Parameter Store, secrets in Secrets Manager.

Config lives per environment (``/APP/ENV/KEY``) instead of inside the build artifact, so one
artifact is promoted unchanged from staging to production. Secrets are never plaintext build
variables: the build project references them by name and CodeBuild fetches them at build time.

Secret and SecureString *values* never travel as notebook parameters and never reach an output,
a log, an exception message, a repr or a plan diff. They come from ``RUNBOOK_SECRET_*``
environment variables, a hidden prompt, or (on the local AWS only) a generated placeholder; see
:func:`.secret_values.resolve_secret_value`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import redact, tags
from runbook_lib.core.converge import create_or_adopt
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames, pairs_to_dict
from runbook_lib.core.plan import Change, Plan, create, diff_values, unchanged, update
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import iso_time
from runbook_lib.setup.secret_values import SecretValue, resolve_secret_value, supplied_secret_value

HIDDEN = "(hidden)"
HIDDEN_CHANGED = "(hidden, changed)"
DEFAULT_SSM_KEY = "alias/aws/ssm"
DEFAULT_SECRETS_KEY = "alias/aws/secretsmanager"
CONFIG_HEADERS = ("environment", "name", "type", "version", "last modified", "value")


@dataclass(frozen=True)
class ConfigEntry:
    """One parameter or secret as stored now, ready for a table; secret values are hidden."""

    environment: str
    name: str
    kind: str  # String, StringList, SecureString or secret
    version: str
    last_modified: str
    shown_value: str

    def as_row(self) -> tuple[str, ...]:
        return (self.environment, self.name, self.kind, self.version, self.last_modified,
                self.shown_value)


@dataclass(frozen=True)
class _StoredParameter:
    """A parameter as listed; ``value`` is kept for String parameters only."""

    name: str
    type: str
    version: int
    last_modified: datetime | None
    key_id: str | None = None
    value: str | None = field(default=None, repr=False)


# -- plan ---------------------------------------------------------------------------------------


def plan_config(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """String and SecureString parameters and secrets for every environment, create-or-update."""
    plan = Plan("config and secrets")
    ssm = session.client("ssm")
    sm = session.client("secretsmanager")
    config = pairs_to_dict(params.config_parameters or ())
    for env in names.environments:
        path = names.ssm_path(env)
        stored = _stored_parameters(ssm, path)
        for key, value in config.items():
            name = path + key
            plan.add(_string_parameter_change(ssm, params, name, value, stored.get(name)))
        for key in (params.secure_config_names or ()):
            name = path + key
            plan.add(_secure_parameter_change(session, params, env, key, name, stored.get(name)))
        listed = _stored_secrets(sm, names.secret_name(env, ""))
        for key in (params.secret_names or ()):
            name = names.secret_name(env, key)
            plan.add(_secret_change(session, params, env, key, name, listed.get(name)))
    return plan


def _string_parameter_change(ssm, params: Params, name: str, value: str,
                             stored: _StoredParameter | None) -> Change:
    resource = f"ssm parameter {name}"
    owner_tags = tags.as_tag_list(tags.ownership_tags(params.app_name))
    if stored is None:
        request = {"Name": name, "Value": value, "Type": "String"}
        return create(resource, lambda: _create_parameter(ssm, params.app_name, request,
                                                          owner_tags), [f"String: {value}"])
    _require_owned_parameter(ssm, name, params.app_name)
    current = {"type": stored.type, "value": stored.value if stored.type == "String" else HIDDEN}
    diff = diff_values(current, {"type": "String", "value": value})
    if not diff:
        return unchanged(resource)
    return update(resource, diff, lambda: _call(f"put parameter {name}", ssm.put_parameter,
                                                Name=name, Value=value, Type="String",
                                                Overwrite=True))


def _secure_parameter_change(session: AwsSession, params: Params, env: str, key: str,
                             name: str, stored: _StoredParameter | None) -> Change:
    ssm = session.client("ssm")
    resource = f"ssm parameter {name}"
    key_id = params.kms_key_arn or DEFAULT_SSM_KEY
    if stored is None:
        secret = resolve_secret_value(key, env, session.is_local)
        tag_list = tags.as_tag_list(tags.ownership_tags(params.app_name))
        return create(
            resource,
            lambda: _create_parameter(ssm, params.app_name, {
                "Name": name, "Value": secret.value, "Type": "SecureString", "KeyId": key_id},
                tag_list, secret.value),
            [f"SecureString: {HIDDEN}", f"value source: {secret.source}", f"kms key: {key_id}"],
        )
    _require_owned_parameter(ssm, name, params.app_name)
    diff = diff_values({"type": stored.type}, {"type": "SecureString"})
    if stored.type == "SecureString" and (stored.key_id or DEFAULT_SSM_KEY) != key_id:
        diff.append(f"kms key: {stored.key_id or DEFAULT_SSM_KEY} -> {key_id}")
    supplied = supplied_secret_value(key, env)
    if supplied is not None and _stored_parameter_value(ssm, name) != supplied.value:
        diff += [f"value: {HIDDEN} -> {HIDDEN_CHANGED}", f"value source: {supplied.source}"]
    elif diff:
        diff.append(f"value: {HIDDEN} (kept, re-encrypted)")
    if not diff:
        return unchanged(resource)

    def _apply() -> None:
        # Without a supplied value the stored one is kept: read it only now, at apply time.
        value = supplied.value if supplied is not None else _stored_parameter_value(ssm, name)
        _put_secure(ssm, name, value, key_id, Overwrite=True)

    return update(resource, diff, _apply)


def _secret_change(session: AwsSession, params: Params, env: str, key: str, name: str,
                   listed: dict[str, Any] | None) -> Change:
    sm = session.client("secretsmanager")
    resource = f"secret {name}"
    kms = params.kms_key_arn or DEFAULT_SECRETS_KEY
    if listed is None:
        secret = resolve_secret_value(key, env, session.is_local)
        return create(resource, lambda: _create_secret(sm, params, name, secret),
                      [f"value: {HIDDEN}", f"value source: {secret.source}", f"kms key: {kms}"])
    if listed.get("DeletedDate"):
        raise StepError(
            f"secret {name} is scheduled for deletion, so it can be neither used nor recreated. "
            f"Fix: `aws secretsmanager restore-secret --secret-id {name}`, then re-run."
        )
    described = _call(f"describe secret {name}", sm.describe_secret, SecretId=name)
    tags.require_owned(resource, tags.from_tag_list(described.get("Tags")), params.app_name)
    diff: list[str] = []
    current_kms = _secret_kms(described.get("KmsKeyId"))
    if current_kms != kms:
        diff.append(f"kms key: {current_kms} -> {kms}")
    supplied = supplied_secret_value(key, env)
    value_changed = supplied is not None and _stored_secret_value(sm, name) != supplied.value
    if value_changed and supplied is not None:
        diff += [f"value: {HIDDEN} -> {HIDDEN_CHANGED}", f"value source: {supplied.source}"]
    if not diff:
        return unchanged(resource)

    def _apply() -> None:
        if current_kms != kms:
            _call(f"update secret {name}", sm.update_secret, SecretId=name, KmsKeyId=kms)
        if value_changed and supplied is not None:
            _secret_call(f"put secret value {name}", sm.put_secret_value, supplied.value,
                         SecretId=name, SecretString=supplied.value)

    return update(resource, diff, _apply)


# -- describe -----------------------------------------------------------------------------------


def config_rows(entries: list[ConfigEntry]) -> list[tuple[str, ...]]:
    """:data:`CONFIG_HEADERS` rows of :func:`describe_config`'s entries."""
    return [entry.as_row() for entry in entries]


def describe_config(session: AwsSession, names: ResourceNames) -> list[ConfigEntry]:
    """Everything under each environment's path and secret prefix; secret values hidden."""
    ssm = session.client("ssm")
    sm = session.client("secretsmanager")
    entries: list[ConfigEntry] = []
    for env in names.environments:
        for p in sorted(_stored_parameters(ssm, names.ssm_path(env)).values(),
                        key=lambda p: p.name):
            shown = p.value if p.type in ("String", "StringList") else HIDDEN
            entries.append(ConfigEntry(env, p.name, p.type, str(p.version),
                                       _when(p.last_modified), shown or ""))
        listed = _stored_secrets(sm, names.secret_name(env, ""))
        for name in sorted(listed):
            s = listed[name]
            if s.get("DeletedDate"):
                continue
            versions = len(s.get("SecretVersionsToStages") or {}) or "-"
            entries.append(ConfigEntry(env, name, "secret", str(versions),
                                       _when(s.get("LastChangedDate")), HIDDEN))
    return entries


# -- reading ------------------------------------------------------------------------------------


def _stored_parameters(ssm, path: str) -> dict[str, _StoredParameter]:
    """Parameters directly under ``path``; values kept for String parameters only."""
    key_ids: dict[str, str | None] = {}
    try:
        for page in ssm.get_paginator("describe_parameters").paginate(
                ParameterFilters=[{"Key": "Path", "Option": "OneLevel",
                                   "Values": [path.rstrip("/")]}]):
            for p in page["Parameters"]:
                key_ids[p["Name"]] = p.get("KeyId")
        out: dict[str, _StoredParameter] = {}
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
                Path=path, Recursive=False, WithDecryption=False):
            for p in page["Parameters"]:
                out[p["Name"]] = _StoredParameter(
                    name=p["Name"], type=p["Type"], version=p.get("Version", 0),
                    last_modified=p.get("LastModifiedDate"), key_id=key_ids.get(p["Name"]),
                    value=p.get("Value") if p["Type"] in ("String", "StringList") else None,
                )
    except ClientError as err:
        raise StepError(f"list parameters under {path}: {err}") from err
    return out


def _stored_secrets(sm, prefix: str) -> dict[str, dict[str, Any]]:
    """Secrets whose name starts with ``prefix``, including those scheduled for deletion."""
    out: dict[str, dict[str, Any]] = {}
    try:
        pages = sm.get_paginator("list_secrets").paginate(
            IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": [prefix]}])
        for page in pages:
            for s in page["SecretList"]:
                if s["Name"].startswith(prefix):  # the name filter is a prefix match
                    out[s["Name"]] = s
    except ClientError as err:
        raise StepError(f"list secrets {prefix}*: {err}") from err
    return out


def _require_owned_parameter(ssm, name: str, app_name: str) -> None:
    response = _call(f"list tags of parameter {name}", ssm.list_tags_for_resource,
                     ResourceType="Parameter", ResourceId=name)
    tags.require_owned(f"ssm parameter {name}", tags.from_tag_list(response.get("TagList")),
                       app_name)


def _stored_parameter_value(ssm, name: str) -> str:
    """The decrypted value, only to compare with or to re-encrypt; never shown."""
    response = _secret_call(f"get parameter {name}", ssm.get_parameter, None, Name=name,
                            WithDecryption=True)
    return response["Parameter"]["Value"]


def _stored_secret_value(sm, name: str) -> str | None:
    """The current value, only to compare with a supplied one; never shown."""
    try:
        response = sm.get_secret_value(SecretId=name)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return None  # a secret created without a value has no AWSCURRENT version
        raise StepError(f"get secret value {name}: {err.response['Error']['Code']}") from None
    return response.get("SecretString")


# -- writing ------------------------------------------------------------------------------------


def _put_secure(ssm, name: str, value: str, key_id: str, **extra: Any) -> None:
    _secret_call(f"put parameter {name}", ssm.put_parameter, value, Name=name, Value=value,
                 Type="SecureString", KeyId=key_id, **extra)


def _create_parameter(ssm, app_name: str, request: dict[str, Any], tag_list: list,
                      secret: str | None = None) -> None:
    """PutParameter without Overwrite, so a look-alike is never replaced. When botocore retried
    after a lost answer, the retry finds the parameter: if it is ours, write the value again
    (Overwrite, which takes no tags) and carry on."""
    name = request["Name"]

    def adopt() -> None:
        _require_owned_parameter(ssm, name, app_name)
        ssm.put_parameter(**request, Overwrite=True)

    _secret_call(f"put parameter {name}", lambda: create_or_adopt(
        lambda: ssm.put_parameter(**request, Tags=tag_list), ("ParameterAlreadyExists",), adopt),
        secret)


def _create_secret(sm, params: Params, name: str, secret: SecretValue) -> None:
    kwargs: dict[str, Any] = {
        "Name": name,
        "SecretString": secret.value,
        "Description": f"{params.app_name} {secret.environment}: {secret.name} "
                       "(managed by pipeline-runbooks)",
        "Tags": tags.as_tag_list(tags.ownership_tags(params.app_name)),
    }
    if params.kms_key_arn:
        kwargs["KmsKeyId"] = params.kms_key_arn
    _secret_call(f"create secret {name}", sm.create_secret, secret.value, **kwargs)


def _call(context: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as err:
        raise StepError(f"{context}: {err}") from err


def _secret_call(context: str, call: Callable[..., Any], value: str | None,
                 **kwargs: Any) -> Any:
    """A call carrying or returning a secret: the error text is masked and not chained.

    AWS error messages may echo request fields, and a chained cause would print them in the
    traceback, so only the error code and a masked message survive.
    """
    try:
        return call(**kwargs)
    except ClientError as err:
        error = err.response.get("Error", {})
        message = redact.mask(str(error.get("Message", "")), [value] if value else [])
        raise StepError(f"{context}: {error.get('Code', 'error')}: {message}") from None


# -- small helpers ------------------------------------------------------------------------------


def _secret_kms(key_id: str | None) -> str:
    return key_id if key_id and key_id != "aws/secretsmanager" else DEFAULT_SECRETS_KEY


def _when(value: datetime | None) -> str:
    return iso_time(value, missing="-")
