"""What a build project is set to, for display: CodeBuild's answer, or the settings the plan
would create, and the notebook's plaintext-variable demonstration.

Read only: PARAMETER_STORE and SECRETS_MANAGER values are references and are never resolved,
and a plaintext value that looks secret is masked when shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook_lib.core import redact
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.session import AwsSession
from runbook_lib.setup.codebuild import (
    DOCKER_VARIABLES,
    build_environment_variables,
    desired_project,
    get_project,
)


@dataclass(frozen=True)
class BuildVariable:
    """One build environment variable; values of PARAMETER_STORE/SECRETS_MANAGER are references."""

    name: str
    type: str
    value: str

    @property
    def shown_value(self) -> str:
        """The value as safe to display: a plaintext value that looks secret is masked."""
        if self.type != "PLAINTEXT" or self.name in DOCKER_VARIABLES:
            return self.value
        if redact.looks_secret(self.name, self.value):
            return redact.MASK
        return self.value


@dataclass(frozen=True)
class BuildProjectState:
    """What a build project is set to, for display; built from CodeBuild's answer or the plan."""

    name: str
    exists: bool
    image: str
    compute_type: str
    privileged: bool
    service_role: str
    log_group: str
    logs_status: str
    cache: str
    timeout_minutes: int
    encryption_key: str
    variables: tuple[BuildVariable, ...] = field(default_factory=tuple)

    def headline(self) -> str:
        if self.exists:
            return f"build project {self.name}: as CodeBuild reports it"
        return (f"build project {self.name}: not created yet (plan only); the settings it will "
                "have")

    def settings_rows(self) -> list[tuple[str, str]]:
        return [
            ("image", self.image),
            ("compute type", self.compute_type),
            ("privileged mode", "on (Docker builds)" if self.privileged else "off"),
            ("service role", self.service_role),
            ("CloudWatch Logs", f"{self.logs_status} -> {self.log_group}"),
            ("cache", self.cache),
            ("timeout", f"{self.timeout_minutes} minutes"),
            ("encryption key", self.encryption_key or "(CodeBuild default: aws/s3)"),
        ]

    def variable_rows(self) -> list[tuple[str, str, str]]:
        return [(v.name, v.type, v.shown_value) for v in self.variables]


def describe_build_project(session: AwsSession, params: Params,
                           names: ResourceNames) -> BuildProjectState:
    """The live project's settings, or (before it exists) the settings the plan would create.

    Never resolves PARAMETER_STORE or SECRETS_MANAGER variables: their values are references.
    """
    current = get_project(session, names.build_project)
    if current is not None:
        return state_from_project(current, exists=True)
    return state_from_project(desired_project(params, names), exists=False)


def state_from_project(project: dict[str, Any], exists: bool) -> BuildProjectState:
    env = project.get("environment", {})
    logs = project.get("logsConfig", {}).get("cloudWatchLogs", {})
    return BuildProjectState(
        name=project["name"],
        exists=exists,
        image=env.get("image", ""),
        compute_type=env.get("computeType", ""),
        privileged=bool(env.get("privilegedMode")),
        service_role=project.get("serviceRole", ""),
        log_group=logs.get("groupName", "(CodeBuild default group)"),
        logs_status=logs.get("status", "ENABLED"),
        cache=describe_cache(project.get("cache") or {"type": "NO_CACHE"}),
        timeout_minutes=int(project.get("timeoutInMinutes", 60)),
        encryption_key=project.get("encryptionKey", ""),
        variables=tuple(BuildVariable(v["name"], v.get("type", "PLAINTEXT"), v.get("value", ""))
                        for v in env.get("environmentVariables", [])),
    )


def describe_cache(cache: dict[str, Any]) -> str:
    if cache.get("type") == "S3":
        return f"S3 s3://{cache.get('location', '')}"
    if cache.get("type") == "LOCAL":
        return f"LOCAL ({', '.join(cache.get('modes', []))})"
    return cache.get("type", "NO_CACHE")


def plaintext_verdict(params: Params, names: ResourceNames, entry: str) -> str:
    """What the suite says to one more plaintext variable ``NAME=VALUE``: accepted, or why not.

    For the notebook's demonstration; the message never contains the value, even when the
    entry is refused by the shape check of ``Params`` (which echoes the entry).
    """
    name, _, value = entry.partition("=")
    try:
        candidate = params.replace(plaintext_variables=(*(params.plaintext_variables or ()), entry))
        build_environment_variables(candidate, names)
    except ParameterError as err:
        return "refused: " + redact.mask(str(err), [value])
    return f"accepted: {name} as PLAINTEXT"


def plaintext_demo(params: Params, names: ResourceNames) -> str:
    """Notebook 05's demonstration, for the sample app only and labelled as one: on the
    operator's app a "refused: DB_PASSWORD" line would read like their own error."""
    if not params.is_sample_app:
        return ("your plaintext variables passed the same check (the sample app shows a refusal "
                "here as a demonstration)")
    return ("demonstration (not your build): a made-up DB_PASSWORD as plaintext is "
            + plaintext_verdict(params, names, "DB_PASSWORD=example-not-a-secret"))
