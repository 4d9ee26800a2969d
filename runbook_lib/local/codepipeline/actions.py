"""The plug-in shape of pipeline actions in the local engine.

The engine runs stages and actions; what an action *does* is an executor registered for its
(category, provider): a source fetches a revision into a zip, CodeBuild runs a build, a deployer
deploys an artifact. Executors talk to other services only through ``ctx.aws`` (in-process boto3
clients through the dispatcher), so they behave the same whoever answers.

Adding a provider = one class with ``run(ctx) -> ActionOutcome`` decorated with
``@register(category, provider)`` in a module listed in ``EXECUTOR_MODULES``.
"""

from __future__ import annotations

import importlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runbook_lib.local.server.context import Peers

if TYPE_CHECKING:
    from runbook_lib.local.server.internal import InternalAws

# Modules whose import registers executors.
EXECUTOR_MODULES = (
    "runbook_lib.local.codepipeline.sources",
    "runbook_lib.local.codepipeline.codebuild_action",
    "runbook_lib.local.codepipeline.deployers",
    "runbook_lib.local.codepipeline.cloudformation_action",
    "runbook_lib.local.codepipeline.approvals",
    "runbook_lib.local.codepipeline.commands_action",
    "runbook_lib.local.codepipeline.jobs",
)


@dataclass(frozen=True)
class ArtifactRef:
    """An artifact as CodePipeline passes it: a name and a zip in the artifact bucket."""

    name: str
    bucket: str
    key: str


@dataclass
class ActionContext:
    """Everything an executor may use; configuration values have variables resolved."""

    aws: InternalAws
    state_dir: Path
    region: str
    account_id: str
    pipeline_name: str
    pipeline_version: int
    execution_id: str
    stage_name: str
    action_name: str
    action_execution_id: str
    configuration: dict[str, str]
    input_artifacts: list[ArtifactRef]
    output_artifact_names: list[str]
    artifact_bucket: str
    namespace: str | None = None
    # Revisions the execution was started with (sourceRevisions or a push), by source action.
    source_revision: dict[str, str] | None = None
    # The commit id (or object version) that started all this, for artifact names.
    commit_id: str | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    # The Commands action's shell commands and the variables it exports.
    commands: list[str] = field(default_factory=list)
    output_variable_names: list[str] = field(default_factory=list)
    # The role the action runs as (its roleArn, else the pipeline's): a Commands action's
    # temporary credentials are issued for it. Where commands reach this local AWS.
    role_arn: str = ""
    endpoint_url: str | None = None
    # The declared actionTypeId (a job for a job worker carries it).
    action_type_id: dict[str, str] = field(default_factory=dict)
    # The local AWS's services, for what has no AWS API (waiting for a build to end).
    peers: Peers = field(default_factory=Peers)

    def new_artifact_key(self, artifact_name: str) -> str:
        """Where an output artifact goes, shaped like CodePipeline's keys; the commit id
        (when known) is in the key so artifacts are versioned by commit SHA."""
        prefix = f"{self.pipeline_name[:20]}/{artifact_name[:20]}"
        tag = (self.commit_id[:12] + "-") if self.commit_id else ""
        return f"{prefix}/{tag}{secrets.token_hex(4)}.zip"


@dataclass
class ActionOutcome:
    """What an action ends with; ``summary`` is shown to operators (AWS's statusSummary)."""

    status: str  # Succeeded | Failed
    summary: str = ""
    output_artifacts: list[ArtifactRef] = field(default_factory=list)
    output_variables: dict[str, str] = field(default_factory=dict)
    external_execution_id: str | None = None
    external_execution_url: str | None = None
    # For source actions: revisionId, revisionSummary, revisionUrl, created (epoch seconds).
    revision: dict[str, Any] | None = None
    error_code: str = "JobFailed"


class ActionExecutor(Protocol):
    def run(self, ctx: ActionContext) -> ActionOutcome: ...


_REGISTRY: dict[tuple[str, str], Callable[[], ActionExecutor]] = {}
# The executor of custom actions, registered by :mod:`jobs` (which imports this module).
_JOB_WORKER: list[Callable[[], ActionExecutor]] = []
_loaded = False


def register(category: str, provider: str):
    """Class decorator: this executor runs actions of (category, provider)."""

    def wrap(cls):
        _REGISTRY[(category, provider)] = cls
        return cls

    return wrap


def register_job_worker(cls):
    """Class decorator: this executor hands custom actions to a job worker (one only)."""
    _JOB_WORKER[:] = [cls]
    return cls


def executor_for(category: str, provider: str, owner: str = "AWS") -> ActionExecutor | None:
    """An executor for the action type, or None when the local AWS cannot run it.

    A custom action, and a third-party one the local AWS has no executor for, is run as AWS
    runs it: by a job worker (:mod:`jobs`)."""
    global _loaded
    if not _loaded:
        for module in EXECUTOR_MODULES:
            importlib.import_module(module)
        _loaded = True
    factory = _REGISTRY.get((category, provider))
    if owner == "Custom" or (owner == "ThirdParty" and factory is None):
        return _JOB_WORKER[0]()
    return factory() if factory else None


def supported_action_types() -> list[tuple[str, str]]:
    executor_for("", "")
    return sorted(_REGISTRY)
