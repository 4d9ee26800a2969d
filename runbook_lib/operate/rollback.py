"""Roll production back to an earlier deployment, then check what production serves.

Two ways, as CodePipeline offers them: ``stage`` re-runs the production deploy stage with the
artifacts of an earlier execution (RollbackStage: fast, no rebuild, no approval), ``revision``
starts a new execution pinned to an earlier commit (``sourceRevisions``: rebuilt, retested and
approved again, so it is the slower but fully audited path). Either way the choice is a plan
first; nothing changes until it is applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, RunbookError, StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import iso_time
from runbook_lib.operate import executions, revisions, summaries
from runbook_lib.operate.summaries import UNKNOWN_TRIGGER, action_items
from runbook_lib.setup.deploy_actions import SOURCE_ACTION

METHODS = ("stage", "revision")
SHORT_SHA = 7
DEPLOYED_PAGE = "index.html"
_VERSION_RE = re.compile(r'<p id="version">([^<]*)</p>')
_FULL_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_HISTORY_LIMIT = 200


class NoRollbackTarget(RunbookError):
    """There is no earlier production deployment to go back to (or the one named is unknown)."""


@dataclass
class Deployment:
    """One execution that succeeded in the production deploy stage, and what it shipped."""

    execution_id: str
    commit_id: str
    message: str = ""
    deployed_at: datetime | None = None
    trigger: str = ""

    @property
    def short(self) -> str:
        return self.commit_id[:SHORT_SHA] or "-"

    def describe(self) -> str:
        return f"{self.short} {self.message}".rstrip()


DEPLOYMENT_HEADERS = ("execution", "commit", "message", "deployed at", "trigger")


def deployment_rows(deployments: list[Deployment]) -> list[tuple[str, str, str, str, str]]:
    """Table rows, newest first; the first row is what production serves now."""
    return [(d.execution_id, d.short, d.message or "-",
             iso_time(d.deployed_at, missing="-"), d.trigger or UNKNOWN_TRIGGER)
            for d in deployments]


def commit_message(revision: dict[str, Any]) -> str:
    """The commit message of a source revision: connection sources put it in a JSON summary
    (``{"ProviderType": "GitHub", "CommitMessage": ...}``), CodeCommit as plain text."""
    return revisions.revision_message(revision)


def stage_successes(session: AwsSession, pipeline: str, stage: str,
                    execution_ids: set[str]) -> dict[str, datetime | None]:
    """execution id -> when its actions in ``stage`` finished, for those of
    ``execution_ids`` where every action of the stage succeeded. Their action executions are
    read with :func:`.summaries.action_items` (whole pages for the pipeline while that is
    cheaper than one filtered listing per run), in whatever order AWS lists them."""
    seen: dict[str, list[tuple[str, datetime | None]]] = {}
    try:
        for item in action_items(session.client("codepipeline"), pipeline, execution_ids):
            if item.get("stageName") == stage and item.get("pipelineExecutionId"):
                seen.setdefault(item["pipelineExecutionId"], []).append(
                    (item.get("status", ""), item.get("lastUpdateTime")))
    except ClientError as err:
        raise StepError(f"list action executions of {pipeline}: {err}") from err
    out: dict[str, datetime | None] = {}
    for execution_id, actions in seen.items():
        if all(status == "Succeeded" for status, _ in actions):
            times = [t for _, t in actions if t]
            out[execution_id] = max(times) if times else None
    return out


def production_deployments(session: AwsSession, pipeline: str, production_stage: str
                           ) -> list[Deployment]:
    """Executions that deployed to production, newest deployment first, with their commits.

    A run whose production actions all succeeded but which then failed (a post-deploy gate
    rolled it back) is not one: CodePipeline refuses it as a RollbackStage target.
    """
    runs = summaries.list_executions(session, pipeline, limit=_HISTORY_LIMIT)
    done = stage_successes(session, pipeline, production_stage,
                           {r.execution_id for r in runs})
    found = []
    for summary in runs:
        if summary.execution_id in done and summary.status != "Failed":
            found.append(Deployment(summary.execution_id, summary.commit_id,
                                    summary.commit_message,
                                    done[summary.execution_id] or summary.last_update_time,
                                    summary.trigger))
    found.sort(key=lambda d: d.deployed_at.timestamp() if d.deployed_at else 0, reverse=True)
    return found


def choose_target(deployments: list[Deployment], target_execution_id: str = "",
                  target_commit: str = "", method: str = "stage") -> Deployment:
    """The deployment to go back to.

    Default: the newest deployment of a commit other than the one production serves now (so a
    second rollback does not bounce back to the bad release). ``target_execution_id`` or
    ``target_commit`` (full or at least 7 characters) pick one explicitly; with method
    ``revision`` a full commit id that production never ran is accepted too.
    """
    if target_execution_id:
        for d in deployments:
            if d.execution_id == target_execution_id:
                return d
        raise NoRollbackTarget(
            f"execution {target_execution_id} never succeeded in the production deploy stage; "
            "pick one from the deployments listed above (target_execution_id=...)")
    if target_commit:
        wanted = target_commit.strip().lower()
        if len(wanted) < SHORT_SHA:
            raise ParameterError("target_commit", target_commit,
                                 f"at least {SHORT_SHA} characters of a commit id", "1a2b3c4")
        for d in deployments:
            if d.commit_id.lower().startswith(wanted):
                return d
        if method == "revision" and _FULL_SHA_RE.match(wanted):
            return Deployment("", wanted, "(never deployed to production)")
        raise NoRollbackTarget(
            f"commit {target_commit} was never deployed to production; pick one listed above, "
            "or pass its full 40-character id with method='revision' to build it anew")
    if not deployments:
        raise NoRollbackTarget("nothing has been deployed to production yet, so there is "
                               "nothing to roll back to")
    current = deployments[0]
    for d in deployments[1:]:
        if d.commit_id != current.commit_id or not (d.commit_id and current.commit_id):
            return d  # an unknown commit cannot be the same: the earlier run is the target
    raise NoRollbackTarget(
        f"production has only ever run commit {current.short}; there is no earlier release "
        "to roll back to")


@dataclass
class RollbackPlan:
    """The rollback as a plan; ``started`` holds the execution id once applied."""

    pipeline: str
    stage: str
    method: str
    current: Deployment | None
    target: Deployment | None  # None: nothing to go back to (``reason`` says why)
    plan: Plan
    started: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def execution_id(self) -> str:
        return self.started[-1] if self.started else ""

    @property
    def needs_approval(self) -> bool:
        return self.method == "revision"


def plan_rollback(session: AwsSession, params: Params, names: ResourceNames,
                  target_execution_id: str = "", target_commit: str = "",
                  method: str = "stage") -> RollbackPlan:
    """Read the production deployments (read calls only) and plan going back to one."""
    if method not in METHODS:
        raise ParameterError("method", method, f"must be one of {', '.join(METHODS)}", "stage")
    stage = production_stage(params)
    deployments = production_deployments(session, names.pipeline, stage)
    current = deployments[0] if deployments else None
    resource = f"{stage} of {names.pipeline}"
    try:
        target = choose_target(deployments, target_execution_id, target_commit, method)
    except NoRollbackTarget as err:
        if target_execution_id or target_commit:
            raise  # the operator named a target that does not exist: say so
        # Nothing earlier to go back to is a fact to report, not a failure of the runbook.
        nothing = RollbackPlan(names.pipeline, stage, method, current, None,
                               Plan(f"rollback {names.pipeline}"), reason=str(err))
        nothing.plan.add(Change(resource, "unchanged", [str(err)]))
        return nothing
    result = RollbackPlan(names.pipeline, stage, method, current, target,
                          Plan(f"rollback {names.pipeline}"))
    now = current.describe() if current else "(nothing deployed)"
    if current and current.commit_id and current.commit_id == target.commit_id:
        result.plan.add(Change(resource, "unchanged", [f"production already runs {now}"]))
        return result
    if method == "stage":
        how = [f"RollbackStage to execution {target.execution_id}: its artifacts are deployed "
               "again, with no rebuild and no approval"]
        apply_fn = lambda: result.started.append(_rollback_stage(session, result))  # noqa: E731
    else:
        how = [f"new execution with sourceRevisions COMMIT_ID={target.commit_id}: it is built "
               f"and tested again and waits in Approve-{params.production_name} for approval "
               "(approve it in notebook 11)"]
        apply_fn = lambda: result.started.append(_start_revision(session, result))  # noqa: E731
    result.plan.add(Change(resource, "update", [f"serves: {now} -> {target.describe()}", *how],
                           apply_fn))
    return result


def production_stage(params: Params) -> str:
    return f"Deploy-{params.production_name}"


def _target(rb: RollbackPlan) -> Deployment:
    """The deployment to go back to; a plan without one has no step to apply."""
    if rb.target is None:
        raise StepError(f"roll back {rb.stage} of {rb.pipeline}: no target: {rb.reason}")
    return rb.target


def _rollback_stage(session: AwsSession, rb: RollbackPlan) -> str:
    target = _target(rb)
    summaries.require_id("target_execution_id", target.execution_id,
                          "an execution listed in the production deployments")
    try:
        return str(session.client("codepipeline").rollback_stage(
            pipelineName=rb.pipeline, stageName=rb.stage,
            targetPipelineExecutionId=target.execution_id)["pipelineExecutionId"])
    except ClientError as err:
        code = err.response["Error"]["Code"]
        hint = {"ConflictException": " Wait for the run in that stage to finish, then retry.",
                "UnableToRollbackStageException": " Pick another target execution."}.get(code, "")
        raise StepError(f"roll back {rb.stage} of {rb.pipeline}: {err}.{hint}") from err


def _start_revision(session: AwsSession, rb: RollbackPlan) -> str:
    target = _target(rb)
    summaries.require_id("target_commit", target.commit_id, "a full 40-character commit id")
    revision = {"actionName": SOURCE_ACTION, "revisionType": "COMMIT_ID",
                "revisionValue": target.commit_id}
    return summaries.start_execution(session, rb.pipeline, [revision])


@dataclass
class Verification:
    """What production serves now, compared with the commit it should serve."""

    expected_commit: str
    label: str = ""
    ok: bool | None = None  # None: not checked automatically
    detail: str = ""

    def render(self) -> str:
        if self.ok is None:
            return f"verification: {self.detail}"
        verdict = "OK" if self.ok else "MISMATCH"
        return (f"verification {verdict}: production serves {self.label or '(no version label)'}"
                f", expected commit {self.expected_commit[:SHORT_SHA]}"
                + (f" ({self.detail})" if self.detail else ""))


def version_label(html: str) -> str:
    """The sample app's ``<p id="version">v1.0.0 (abc1234)</p>`` text, or ''."""
    match = _VERSION_RE.search(html)
    return match.group(1).strip() if match else ""


def label_matches(label: str, commit_id: str) -> bool:
    """True when the label carries the commit's short SHA, in parentheses as the app writes
    it."""
    return bool(commit_id) and f"({commit_id[:SHORT_SHA]})" in label


def verify_production(session: AwsSession, params: Params, names: ResourceNames,
                      commit_id: str) -> Verification:
    """Read the deployed page from the production bucket and check its version label.

    Only the S3 deploy provider is read automatically; for the others the check is manual.
    """
    if params.deploy_provider != "s3":
        return Verification(commit_id, detail=(
            f"manual for deploy provider {params.deploy_provider}: check that production "
            f"reports version {commit_id[:SHORT_SHA]} (its health page or the running task's "
            "image tag)"))
    bucket = names.deploy_buckets[1]
    try:
        body = session.client("s3").get_object(Bucket=bucket, Key=DEPLOYED_PAGE)["Body"].read()
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code in ("NoSuchKey", "NoSuchBucket"):
            return Verification(commit_id, ok=False, detail=(
                f"s3://{bucket}/{DEPLOYED_PAGE} not found ({code}); has production ever been "
                "deployed?"))
        raise StepError(f"read s3://{bucket}/{DEPLOYED_PAGE}: {err}") from err
    label = version_label(body.decode("utf-8", "replace"))
    return Verification(commit_id, label, label_matches(label, commit_id),
                        f"s3://{bucket}/{DEPLOYED_PAGE}")


def follow(session: AwsSession, rb: RollbackPlan, timeout: float = 600
           ) -> summaries.ExecutionSummary | None:
    """Wait for the started rollback: to the end for ``stage``, to the approval for
    ``revision``. None when nothing was started (plan only)."""
    if not rb.execution_id:
        return None
    return executions.wait_for_execution(session, rb.pipeline, rb.execution_id, timeout,
                                         stop_at_approval=rb.needs_approval)


def outcome_text(rb: RollbackPlan, result: summaries.ExecutionSummary | None) -> str:
    """One sentence on where the rollback stands."""
    if rb.target is None:
        return f"nothing to roll back: {rb.reason}"
    if result is None:
        return ("no rollback started: production still runs "
                f"{rb.current.describe() if rb.current else '(nothing)'}"
                if rb.plan.has_changes else "nothing to do: production already runs the target")
    if result.status == "Succeeded":
        return f"rollback execution {result.execution_id} succeeded"
    if not result.finished:
        return (f"execution {result.execution_id} is {result.status}, waiting for approval in "
                f"Approve-{rb.stage.removeprefix('Deploy-')}: approve it in notebook 11, then "
                "re-run the verification below")
    return (f"rollback execution {result.execution_id} ended {result.status}: "
            f"{result.status_summary or 'see notebook 10 for its logs'}")


def verify_after(session: AwsSession, params: Params, names: ResourceNames, rb: RollbackPlan,
                 result: summaries.ExecutionSummary | None) -> Verification:
    """After a rollback that reached production: does production serve the target? Before one
    (plan only): does production serve what the deployment history says it runs?"""
    if result is None:
        if rb.current is None:
            return Verification("", detail="not checked: nothing has been deployed to production")
        return verify_production(session, params, names, rb.current.commit_id)
    target = _target(rb)
    if result.status != "Succeeded":
        return Verification(target.commit_id, detail=(
            f"not checked: execution {result.execution_id} has not deployed to production "
            f"({result.status})"))
    return verify_production(session, params, names, target.commit_id)


def outcome_report(session: AwsSession, params: Params, names: ResourceNames, rb: RollbackPlan,
                   timeout: float = 600) -> str:
    """Follow the rollback the plan started (if any), then say where it stands and what
    production serves: one text, read again after Apply so it never says "not started"."""
    result = follow(session, rb, timeout)
    verification = verify_after(session, params, names, rb, result)
    return f"{outcome_text(rb, result)}\n{verification.render()}"
