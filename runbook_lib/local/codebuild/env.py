"""A build's environment: CodeBuild's own variables, plaintext ones, and resolved secrets.

Precedence is CodeBuild's: StartBuild's ``environmentVariablesOverride`` beats the project's
variables, which beat the buildspec's ``env`` sections. PARAMETER_STORE values come from the
local SSM (decrypted), SECRETS_MANAGER values from the local Secrets Manager
(``secret-id:json-key:version-stage:version-id``). Resolved parameter-store and secret values
are returned apart, so the runner masks them in every log line, context and record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from runbook_lib.buildspec.model import Buildspec, SecretRef
from runbook_lib.local.codebuild.failures import PhaseFailed


@dataclass
class ResolvedVariables:
    values: dict[str, str] = field(default_factory=dict)
    secret_values: set[str] = field(default_factory=set)


def build_aws_variables(endpoint_url: str | None, region: str, credentials_uri: str,
                        authorization_token: str) -> dict[str, str]:
    """What lets ``aws ...`` and SDKs inside a build call the local AWS: its endpoint, the
    region, and the container credentials provider serving the build's temporary credentials
    (as in CodeBuild; see :mod:`runbook_lib.local.server.build_credentials`)."""
    values = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region,
              "AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials_uri,
              "AWS_CONTAINER_AUTHORIZATION_TOKEN": authorization_token,
              "AWS_EC2_METADATA_DISABLED": "true"}
    if endpoint_url:
        values["AWS_ENDPOINT_URL"] = endpoint_url
    return values


def resolve_variables(aws, region: str, buildspec: Buildspec | None,
                      build_variables: list[dict]) -> ResolvedVariables:
    """Every user variable of the build, in CodeBuild's precedence; raises PhaseFailed.

    ``build_variables`` are the project's with StartBuild's overrides already applied."""
    resolved = ResolvedVariables()
    if buildspec is not None:
        env = buildspec.env
        resolved.values.update(env.variables)
        for name, parameter in env.parameter_store.items():
            _set_secret(resolved, name, _parameter(aws, region, parameter))
        for name, ref in env.secrets_manager.items():
            _set_secret(resolved, name, _secret(aws, region, ref))
    for variable in build_variables:
        name, value = variable["name"], variable.get("value", "")
        kind = variable.get("type", "PLAINTEXT")
        if kind == "PARAMETER_STORE":
            _set_secret(resolved, name, _parameter(aws, region, value))
        elif kind == "SECRETS_MANAGER":
            _set_secret(resolved, name, _secret(aws, region, parse_secret_ref(value)))
        else:
            resolved.values[name] = value
    return resolved


def parse_secret_ref(text: str) -> SecretRef:
    """``secret-id[:json-key[:version-stage[:version-id]]]``; an ARN id has 7 parts."""
    parts = text.strip().split(":")
    id_parts = 7 if text.startswith("arn:") else 1
    rest = parts[id_parts:] + [""] * 3
    return SecretRef(":".join(parts[:id_parts]), rest[0], rest[1], rest[2])


def _set_secret(resolved: ResolvedVariables, name: str, value: str) -> None:
    resolved.values[name] = value
    resolved.secret_values.add(value)


def _parameter(aws, region: str, name: str) -> str:
    try:
        got = aws.client("ssm", region).get_parameter(Name=name, WithDecryption=True)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code == "ParameterNotFound":
            raise PhaseFailed("Decrypted Variables Error",
                                f"parameter does not exist: {name}") from err
        raise PhaseFailed("Decrypted Variables Error", f"{code}: parameter {name}") from err
    return got["Parameter"]["Value"]


def _secret(aws, region: str, ref: SecretRef) -> str:
    kwargs = {"SecretId": ref.secret_id}
    if ref.version_id:
        kwargs["VersionId"] = ref.version_id
    elif ref.version_stage:
        kwargs["VersionStage"] = ref.version_stage
    try:
        got = aws.client("secretsmanager", region).get_secret_value(**kwargs)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        raise PhaseFailed("Secrets Manager Error",
                            f"{code}: secret {ref.secret_id} could not be read") from err
    text = got.get("SecretString")
    if text is None:
        raise PhaseFailed("Secrets Manager Error",
                            f"secret {ref.secret_id} holds binary data, not a string")
    if not ref.json_key:
        return text
    try:
        document = json.loads(text)
        value = document[ref.json_key]
    except (ValueError, KeyError, TypeError) as err:
        raise PhaseFailed("Secrets Manager Error",
                            f"secret {ref.secret_id} has no JSON key {ref.json_key}") from err
    return value if isinstance(value, str) else json.dumps(value)
