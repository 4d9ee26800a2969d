"""Where a setup stands: each step's state read from AWS, the latest run, what to do next.

Each setup step's state comes from running its own plan function, which only reads: a plan of
nothing but creates is "not applied", a plan with no pending change is "converged", anything
else is "changes pending" with the count and the drifted aspects. The steps are read in
parallel (one thread per step; the session's clients are shared and thread-safe). Nothing here
changes anything, so the overview notebook and ``runbook status`` are safe to run any time.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.core.errors import NotOwnedError, RunbookError, SecretValueError
from runbook_lib.core.headless import HEADLESS_ENV  # no prompt while planning
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import gate_rehearsal, history, pipeline_state, summaries
from runbook_lib.setup import bucket, codebuild, config_store, iam, monitoring, pipeline

NOT_APPLIED, CONVERGED, PENDING = "not applied", "converged", "changes pending"
NOT_OWNED, ERROR, READ_ONLY = "not owned", "error", "read-only"
STEP_HEADERS = ("step", "notebook", "state", "changes", "drifted aspects")
RUN_HEADERS = ("stage", "status")

PlanFn = Callable[[AwsSession, Params, ResourceNames], Plan]


@dataclass(frozen=True)
class SetupStep:
    """A step of the suite's setup: its notebook and the plan functions that say its state."""

    name: str
    notebook: str  # the notebook's file stem, e.g. 02_artifact_bucket
    title: str
    plans: tuple[PlanFn, ...] = ()


SETUP_STEPS: tuple[SetupStep, ...] = (
    SetupStep("preflight", "01_preflight", "Preflight"),
    SetupStep("bucket", "02_artifact_bucket", "Artifact bucket",
              (bucket.plan_artifact_bucket, bucket.plan_deploy_buckets)),
    SetupStep("iam", "03_iam_roles", "IAM service roles", (iam.plan_roles,)),
    SetupStep("buildspec", "04_buildspec", "Buildspec"),
    SetupStep("build-project", "05_build_project", "CodeBuild project",
              (codebuild.plan_build_project,)),
    SetupStep("config", "06_config_and_secrets", "Config and secrets",
              (config_store.plan_config,)),
    SetupStep("pipeline", "07_pipeline", "CodePipeline",
              (history.plan_local_source, pipeline.plan_pipeline)),
    SetupStep("monitoring", "08_monitoring", "Failure notifications",
              (monitoring.plan_monitoring,)),
)


@dataclass
class StepState:
    """One step's state as read from AWS, with what differs from the desired state."""

    step: SetupStep
    state: str
    changes: int = 0
    aspects: list[str] = field(default_factory=list)
    detail: str = ""

    def row(self) -> tuple[str, str, str, str, str]:
        shown = "; ".join(self.aspects) if self.aspects else (self.detail or "-")
        count = str(self.changes) if self.state in (PENDING, NOT_APPLIED) else "-"
        return (self.step.title, f"{self.step.notebook}.ipynb", self.state, count, shown)


@dataclass
class LatestRun:
    """The newest pipeline execution and its stages, or why there is none."""

    execution_id: str = ""
    status: str = ""
    stages: list[tuple[str, str]] = field(default_factory=list)
    approvals: list[pipeline_state.PendingApproval] = field(default_factory=list)
    note: str = ""
    rollback: bool = False  # the newest run re-ran a stage to roll it back


@dataclass
class NextStep:
    """The one thing to do next, and the notebook where it is done."""

    text: str
    notebook: str


@dataclass
class Overview:
    app_name: str
    steps: list[StepState]
    run: LatestRun
    next_step: NextStep
    seconds: float = 0.0

    @property
    def converged(self) -> bool:
        return all(s.state in (CONVERGED, READ_ONLY) for s in self.steps)

    @property
    def errors(self) -> list[StepState]:
        return [s for s in self.steps if s.state in (ERROR, NOT_OWNED)]

    def step_rows(self) -> list[tuple[str, str, str, str, str]]:
        return [s.row() for s in self.steps]


def state_of(step: SetupStep, plans: list[Plan]) -> StepState:
    """Read a step's state from its plans (pure: tests feed it plans)."""
    if not step.plans:
        return StepState(step, READ_ONLY, detail="checks only, nothing to apply")
    changes = [c for p in plans for c in p.changes]
    pending = [c for c in changes if c.changes_anything]
    if not pending:
        return StepState(step, CONVERGED)
    if all(c.action == "create" for c in changes):
        return StepState(step, NOT_APPLIED, len(pending))
    aspects = [f"{c.action} {c.resource}" for c in pending]
    return StepState(step, PENDING, len(pending), aspects)


REHEARSED = ("release gates and alarm of the sample history's rehearsal (expected after "
             "push_sample_history; set notebook 07's gate parameters to keep them declared)")


def read_step(session: AwsSession, params: Params, names: ResourceNames,
              step: SetupStep) -> StepState:
    """Run the step's plan functions (reads only) and turn what they say into a state.

    On the local AWS, a step whose only differences are the release gates the sample history
    turned on (:mod:`.gate_rehearsal`) is converged, and says so: that rehearsal is expected,
    and the next step must not undo it.
    """
    try:
        state = state_of(step, [fn(session, params, names) for fn in step.plans])
        if state.state != PENDING or not session.is_local:
            return state
        gated = gate_rehearsal.gated_params(params)
        rehearsed = state_of(step, [fn(session, gated, names) for fn in step.plans])
        if rehearsed.state == CONVERGED:
            return StepState(step, CONVERGED, detail=REHEARSED)
        return state
    except NotOwnedError as err:
        return StepState(step, NOT_OWNED, detail=str(err))
    except SecretValueError as err:
        return StepState(step, PENDING, 1, ["a secret has no value yet"], str(err))
    except (RunbookError, ClientError, BotoCoreError) as err:
        return StepState(step, ERROR, detail=f"{step.name}: {err}")


@contextlib.contextmanager
def _no_prompts() -> Iterator[None]:
    """Plans may ask for a secret's value in JupyterLab; an overview never prompts."""
    saved = os.environ.get(HEADLESS_ENV)
    os.environ[HEADLESS_ENV] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(HEADLESS_ENV, None)
        else:
            os.environ[HEADLESS_ENV] = saved


def read_steps(session: AwsSession, params: Params, names: ResourceNames,
               steps: tuple[SetupStep, ...] = SETUP_STEPS, workers: int = 4) -> list[StepState]:
    """Every step's state, read in parallel, in suite order."""
    with _no_prompts(), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(read_step, session, params, names, s) for s in steps]
        return [f.result() for f in futures]


OPEN = (NOT_OWNED, ERROR, NOT_APPLIED, PENDING)  # states next_step sends the operator to


def read_steps_to_next(session: AwsSession, params: Params, names: ResourceNames,
                       steps: tuple[SetupStep, ...] = SETUP_STEPS,
                       workers: int = 4) -> list[StepState]:
    """The steps in suite order up to the first one still to do: all :func:`next_step` needs.
    Read in parallel like :func:`read_steps`; the reads after that step are cancelled (a setup
    notebook's next step is the following one, so the later steps need no reading)."""
    with _no_prompts(), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(read_step, session, params, names, s) for s in steps]
        found = []
        for future in futures:
            found.append(future.result())
            if found[-1].state in OPEN:
                for later in futures:
                    later.cancel()
                break
        return found


def read_latest_run(session: AwsSession, pipeline_name: str) -> LatestRun:
    """The newest execution with its stages and the approvals waiting; reads only."""
    try:
        newest = summaries.list_executions(session, pipeline_name, limit=1)
    except ClientError as err:
        if err.response["Error"]["Code"] == "PipelineNotFoundException":
            return LatestRun(note=f"pipeline {pipeline_name} does not exist yet")
        raise
    if not newest:
        return LatestRun(note=f"{pipeline_name} has not run yet")
    latest = newest[0]
    rollback = latest.execution_type == "ROLLBACK" or latest.trigger.endswith("Rollback")
    return LatestRun(latest.execution_id, latest.status,
                     pipeline_state.stage_statuses(session, pipeline_name, latest.execution_id),
                     pipeline_state.pending_approvals(session, pipeline_name), rollback=rollback)


def next_step(steps: list[StepState], run: LatestRun) -> NextStep:
    """The first step not converged, else what the latest run asks for."""
    for s in steps:
        if s.state in (NOT_OWNED, ERROR):
            return NextStep(f"fix {s.step.title}: {s.detail}", s.step.notebook)
        if s.state in (NOT_APPLIED, PENDING):
            verb = "apply" if s.state == NOT_APPLIED else "re-apply (drift)"
            return NextStep(f"{verb} {s.step.title}: run it with apply=True", s.step.notebook)
    if run.approvals:
        first = run.approvals[0]
        return NextStep(f"answer the approval at {first.stage}/{first.action}", "11_approvals")
    if run.status == "Failed":
        return NextStep("read the failed build's log and fix the change", "10_build_logs")
    if not run.execution_id:
        return NextStep("start a run and watch it", "09_run_and_watch")
    return NextStep("everything is converged: watch the next run", "09_run_and_watch")


def read_overview(session: AwsSession, params: Params, names: ResourceNames) -> Overview:
    """The whole overview: steps (in parallel), the latest run, and the next thing to do."""
    start = time.monotonic()
    steps = read_steps(session, params, names)
    try:
        run = read_latest_run(session, names.pipeline)
    except (RunbookError, ClientError, BotoCoreError) as err:
        run = LatestRun(note=f"cannot read the latest run: {err}")
    return Overview(params.app_name, steps, run, next_step(steps, run),
                    time.monotonic() - start)
