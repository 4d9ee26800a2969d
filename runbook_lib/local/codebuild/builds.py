"""CodeBuild builds, served by the local AWS itself: StartBuild really runs the buildspec.

moto's builds are random stubs with no logs. Here StartBuild records a build (``project:uuid``,
a per-project build number), queues it, and a runner thread executes it
(:mod:`runbook_lib.local.codebuild.runner`); BatchGetBuilds, ListBuilds(ForProject), StopBuild and
RetryBuild read and steer those records. At most ``$RUNBOOK_LOCAL_MAX_BUILDS`` (default 4)
builds run at once; the rest wait in QUEUED. Records persist in the state directory, one file
per build (a phase change rewrites only its own build's record); a build left IN_PROGRESS by
a server that died is marked FAILED at the next start.

Pipeline builds: the CodeBuild action executor sends StartBuild through the in-process
clients with the ``x-runbook-codepipeline`` header (only honoured on internal requests), which
allows CODEPIPELINE projects and sets the initiator to ``codepipeline/<pipeline>``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild.build_host import BuildJob
from runbook_lib.local.codebuild.build_paths import work_folder
from runbook_lib.local.codebuild.build_records import (
    BUILDS_DIR,
    load_records,
    mark_ended,
    record_path,
    save_record,
)
from runbook_lib.local.codebuild.build_settings import BuildSettings
from runbook_lib.local.codebuild.logs import log_location
from runbook_lib.local.codebuild.projects import ACCOUNT_ID, CodeBuildProjects
from runbook_lib.local.codebuild.reports import CodeBuildReports
from runbook_lib.local.codebuild.runner import BuildRunner
from runbook_lib.local.codebuild.shell import kill_orphan
from runbook_lib.local.server.internal import INTERNAL_HEADER
from runbook_lib.local.server.paging import (
    CODEBUILD,
    PageRule,
    batch_members,
    found_and_missing,
    page,
)
from runbook_lib.local.server.store import JsonStore, StoreWriteError
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.builds")

PIPELINE_HEADER = "x-runbook-codepipeline"
MAX_BUILDS_ENV = "RUNBOOK_LOCAL_MAX_BUILDS"
# ListBuilds and ListBuildsForProject have no maxResults: 100 ids a page, as on AWS.
LIST_BUILDS = PageRule("ListBuilds", "ids", CODEBUILD, max_results=None)
LIST_BUILDS_FOR_PROJECT = PageRule("ListBuildsForProject", "ids", CODEBUILD, max_results=None)
IDEMPOTENCY_SECONDS = 300


@dataclass(frozen=True)
class StartRecord:
    """What StartBuild keeps beside the build's record: the request (for RetryBuild), the
    pipeline, the initiator, a batch, and the idempotency token's key."""

    body: dict
    pipeline: str | None
    initiator: str
    batch_arn: str | None
    token_key: str | None


class CodeBuildBuilds:
    """StartBuild, BatchGetBuilds, StopBuild, ListBuildsForProject, ListBuilds, RetryBuild."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codebuild-builds.json",
                               {"numbers": {}, "jobs": {}, "tokens": {}})
        # Build records, region -> id -> record, guarded by ``store.lock``. Each is saved in
        # its own file, so a phase change writes one small record, not every build ever run.
        self.builds_dir = ctx.state_dir / BUILDS_DIR
        self.builds: dict[str, dict[str, dict[str, Any]]] = self._load_builds()
        self.max_builds = max(1, int(os.environ.get(MAX_BUILDS_ENV) or 4))
        self._lock = threading.Lock()
        # Notified whenever a build record changes, so waiters need not poll (see wait_until).
        self._changed = threading.Condition(self.store.lock)
        self._runners: dict[str, BuildRunner] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._pending: deque[str] = deque()
        self._unsaved: set[str] = set()  # builds whose latest change is not on disk yet
        self._closing = threading.Event()
        self._fail_interrupted_builds()

    def routes(self):
        return {("codebuild", "StartBuild"): self.start_build,
                ("codebuild", "BatchGetBuilds"): self.batch_get_builds,
                ("codebuild", "StopBuild"): self.stop_build,
                ("codebuild", "ListBuildsForProject"): self.list_builds_for_project,
                ("codebuild", "ListBuilds"): self.list_builds,
                ("codebuild", "RetryBuild"): self.retry_build}

    def close(self) -> None:
        """Stop running builds (their shells are killed) and wait for their threads."""
        self._closing.set()
        with self._lock:
            runners = list(self._runners.values())
            threads = list(self._threads.values())
            self._pending.clear()
        for runner in runners:
            runner.stop()
        for thread in threads:
            thread.join(timeout=30)

    # -- operations ---------------------------------------------------------------------------

    def start_build(self, request: Request) -> Response:
        body = request.json()
        pipeline = request.headers.get(PIPELINE_HEADER) \
            if request.headers.get(INTERNAL_HEADER) else None
        return json_response({"build": self._start(request.region, body, pipeline)})

    def batch_get_builds(self, request: Request) -> Response:
        ids = batch_members(request.json(), "ids", "build ids")
        found, missing = found_and_missing(ids, lambda given: self.get(request.region, given))
        return json_response({"builds": found, "buildsNotFound": missing})

    def stop_build(self, request: Request) -> Response:
        build_id = self._require(request.region, request.json().get("id"))["id"]
        with self._lock:
            runner = self._runners.get(build_id)
            queued = build_id in self._pending
            if queued:
                self._pending.remove(build_id)
                self._runners.pop(build_id, None)
            thread = self._threads.get(build_id)
        if runner is not None and queued:
            runner.cancel_queued()
        elif runner is not None:
            runner.stop()
            if thread is not None:
                thread.join(timeout=10)  # answer with the stopped build when it is quick
        return json_response({"build": self.get(request.region, build_id)})

    def list_builds_for_project(self, request: Request) -> Response:
        body = request.json()
        name = body.get("projectName", "")
        if self.ctx.peers.get(CodeBuildProjects).get(request.region, name) is None:
            raise AwsError("ResourceNotFoundException", f"The provided project {name} does "
                           "not exist")
        with self.store.lock:
            builds = [b for b in self.builds.get(request.region, {}).values()
                      if b["projectName"] == name]
        return json_response(_page_of_ids(builds, body, LIST_BUILDS_FOR_PROJECT))

    def list_builds(self, request: Request) -> Response:
        body = request.json()
        with self.store.lock:
            builds = list(self.builds.get(request.region, {}).values())
        return json_response(_page_of_ids(builds, body, LIST_BUILDS))

    def retry_build(self, request: Request) -> Response:
        body = request.json()
        original = self._require(request.region, body.get("id"))
        with self.store.lock:
            job = copy.deepcopy(self.store.data["jobs"].get(original["id"]) or {})
        start = job.get("request") or {"projectName": original["projectName"]}
        start.pop("idempotencyToken", None)
        if body.get("idempotencyToken"):
            start["idempotencyToken"] = body["idempotencyToken"]
        build = self._start(request.region, start, job.get("pipeline"),
                            initiator=original.get("initiator"))
        return json_response({"build": build})

    # -- lookups ------------------------------------------------------------------------------

    def get(self, region: str, id_or_arn: str) -> dict[str, Any] | None:
        build_id = (id_or_arn or "").rsplit(":build/", 1)[-1]
        with self.store.lock:
            build = self.builds.get(region, {}).get(build_id)
            return copy.deepcopy(build) if build else None

    def wait_until_complete(self, region: str, build_id: str, timeout: float) -> bool:
        """Block until the build is complete (True) or ``timeout`` passes (False).

        CodeBuild has no API that waits; the pipeline's CodeBuild action, in this process,
        waits here instead of polling BatchGetBuilds, so it moves on as soon as the build ends.
        """
        def complete() -> bool:
            build = self.builds.get(region, {}).get(build_id)
            return build is None or bool(build.get("buildComplete"))

        with self._changed:
            return self._changed.wait_for(complete, timeout)

    def _require(self, region: str, id_or_arn: str | None) -> dict[str, Any]:
        if not id_or_arn:
            raise AwsError("InvalidInputException", "id is required")
        build = self.get(region, id_or_arn)
        if build is None:
            raise AwsError("ResourceNotFoundException", f"Build {id_or_arn} does not exist")
        return build

    # -- starting -----------------------------------------------------------------------------

    def start_for_batch(self, region: str, body: dict, batch_arn: str) -> dict:
        """StartBuild for one task of a batch build (batches.py); the build names its batch."""
        return self._start(region, body, None, batch_arn=batch_arn)

    def start_for_webhook(self, region: str, body: dict, initiator: str) -> dict:
        """StartBuild for a push a project's webhook matched (webhook_pushes.py)."""
        return self._start(region, body, None, initiator=initiator)

    def _start(self, region: str, body: dict, pipeline: str | None,
               initiator: str | None = None, batch_arn: str | None = None) -> dict:
        name = body.get("projectName", "")
        project = self.ctx.peers.get(CodeBuildProjects).get(region, name)
        if project is None:
            raise AwsError("ResourceNotFoundException",
                           f"Project cannot be found: arn:aws:codebuild:{region}:{ACCOUNT_ID}"
                           f":project/{name}")
        token = body.get("idempotencyToken")
        if token:
            with self.store.lock:  # a token is honoured for 5 minutes, as in CodeBuild
                earlier = self.store.data["tokens"].get(f"{region}/{name}/{token}")
            if earlier and time.time() - earlier[1] < IDEMPOTENCY_SECONDS:
                earlier_build = self.get(region, earlier[0])
                if earlier_build is not None:  # else it is gone: start a new one
                    return earlier_build
        settings = BuildSettings(project, body, pipeline)
        self._check_concurrency(region, project)
        build_uuid = str(uuid.uuid4())
        build_id = f"{project['name']}:{build_uuid}"
        location = log_location(project, build_uuid, region, ACCOUNT_ID,
                                body.get("logsConfigOverride"))
        record = self._record_start(region, settings, build_id, location, StartRecord(
            body, pipeline, initiator or (f"codepipeline/{pipeline}" if pipeline else "root"),
            batch_arn, f"{region}/{name}/{token}" if token else None))
        job = BuildJob(record=copy.deepcopy(record), artifacts_config=settings.artifacts,
                       region=region, work_dir=work_folder(self.ctx.state_dir, build_id),
                       cache_dir=self.ctx.state_dir / "cache",
                       endpoint_url=self._endpoint_url(), log_location=location,
                       from_pipeline=pipeline is not None,
                       secondary_artifacts=settings.secondary_artifacts,
                       add_report=self._report_sink(region, project["name"], record["arn"]))
        runner = BuildRunner(self.ctx.aws, job, lambda b: self._publish(region, b))
        self._schedule(build_id, runner)
        return copy.deepcopy(record)

    def _record_start(self, region: str, settings: BuildSettings, build_id: str, location,
                      start: StartRecord) -> dict:
        """Write a new build's record, then its number, job and token; memory changes only
        once both writes reached the disk. A failed write raises StoreWriteError (AWS's
        ServiceUnavailable) with nothing changed, so a retry after space is freed succeeds
        and a restart shows exactly the builds that were acknowledged."""
        project = settings.project["name"]
        with self.store.lock:
            number = self.store.data["numbers"].get(region, {}).get(project, 0) + 1
            record = settings.record(region, build_id, number, location, start.initiator)
            if start.batch_arn:
                record["buildBatchArn"] = start.batch_arn
            self._save_build(region, record)  # first its own file: a record nothing names
            try:
                with self.store.transaction() as data:
                    data["numbers"].setdefault(region, {})[project] = number
                    data["jobs"][build_id] = {"request": start.body, "pipeline":
                                              start.pipeline, "artifacts": settings.artifacts}
                    if start.token_key:
                        data["tokens"][start.token_key] = [build_id, time.time()]
            except StoreWriteError:
                record_path(self.builds_dir, region, build_id).unlink(missing_ok=True)
                raise
            self.builds.setdefault(region, {})[build_id] = record
        return record

    def _report_sink(self, region: str, project: str, build_arn: str):
        """Where the build's ``reports`` go: the local report service (reports.py)."""
        service = self.ctx.peers.find(CodeBuildReports)
        if service is None:
            return None
        return lambda group, kind, cases, coverage, status: service.add_report(
            region, project, group, kind, build_arn, cases, coverage, status)

    def _check_concurrency(self, region: str, project: dict) -> None:
        limit = project.get("concurrentBuildLimit")
        if not limit:
            return
        with self.store.lock:
            active = sum(1 for b in self.builds.get(region, {}).values()
                         if b["projectName"] == project["name"] and not b["buildComplete"])
        if active >= int(limit):
            raise AwsError("AccountLimitExceededException",
                           f"Project {project['name']} has reached its concurrent build limit "
                           f"of {limit}")

    def _schedule(self, build_id: str, runner: BuildRunner) -> None:
        with self._lock:
            self._runners[build_id] = runner
            if len(self._threads) < self.max_builds:
                self._launch(build_id)
            else:
                self._pending.append(build_id)

    def _launch(self, build_id: str) -> None:
        """Start a build's thread; the caller holds ``self._lock``."""
        thread = threading.Thread(target=self._run, args=(build_id,), daemon=True,
                                  name=f"build-{build_id[-12:]}")
        self._threads[build_id] = thread
        thread.start()

    def _run(self, build_id: str) -> None:
        runner = self._runners[build_id]
        try:
            runner.run()
        except Exception:  # a runner bug must not leave the build IN_PROGRESS forever
            log.error("build %s faulted:\n%s", build_id, traceback.format_exc())
            mark_ended(runner.build, "FAULT", "INTERNAL_ERROR",
                             "The local build runner failed; see the local AWS's log")
            self._publish(runner.job.region, runner.build)
        finally:
            self._save_final(runner)
            with self._lock:
                self._runners.pop(build_id, None)
                self._threads.pop(build_id, None)
                if self._pending:
                    self._launch(self._pending.popleft())

    def _publish(self, region: str, build: dict) -> None:
        """A running build's new state: on disk first, then in memory (what readers see).

        When the write fails (a full disk) the build runs on; its record stays as last saved,
        and the next change writes it whole (see :meth:`_save_final` for the last one)."""
        with self._changed:
            try:
                self._save_build(region, build)
            except StoreWriteError as err:
                log.error("build %s: %s", build["id"], err.message)
                self._unsaved.add(build["id"])
                return
            self._unsaved.discard(build["id"])
            self.builds.setdefault(region, {})[build["id"]] = build
            self._changed.notify_all()

    def _save_final(self, runner: BuildRunner) -> None:
        """A build's last record could not be written: try again every second until it is
        (space was freed) or the server closes (the next start marks the build FAILED)."""
        while runner.build["id"] in self._unsaved and not self._closing.wait(1.0):
            self._publish(runner.job.region, copy.deepcopy(runner.build))

    # -- restart and endpoint -------------------------------------------------------------

    def _fail_interrupted_builds(self) -> None:
        with self.store.lock:
            for region, builds in self.builds.items():
                for build in builds.values():
                    if not build.get("buildComplete"):
                        kill_orphan(work_folder(self.ctx.state_dir, build["id"]) / "commands")
                        mark_ended(build, "FAILED", "CLIENT_ERROR",
                                         "The local AWS restarted while this build was running")
                        self._save_build(region, build)

    def _load_builds(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every saved build record; records an older version kept inside the main document
        move to their own files (written before the document drops them)."""
        builds = load_records(self.builds_dir)
        legacy = self.store.data.pop("builds", None)
        if legacy:
            for region, records in legacy.items():
                for record in records.values():
                    builds.setdefault(region, {}).setdefault(record["id"], record)
                    self._save_build(region, builds[region][record["id"]])
            self.store.save()
        return builds

    def _save_build(self, region: str, build: dict[str, Any]) -> None:
        """Write one build's record (the caller holds ``store.lock``); StoreWriteError."""
        save_record(self.builds_dir, region, build)

    def _endpoint_url(self) -> str | None:
        """Where commands inside a build reach this local AWS (set by the server)."""
        return self.ctx.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")


def _page_of_ids(builds: list[dict], body: dict, rule: PageRule) -> dict[str, Any]:
    order = body.get("sortOrder", "DESCENDING")
    if order not in ("ASCENDING", "DESCENDING"):
        raise AwsError("InvalidInputException", f"Invalid sortOrder {order}")
    builds.sort(key=lambda b: (b["startTime"], b["buildNumber"], b["id"]),
                reverse=order == "DESCENDING")
    return page([b["id"] for b in builds], body, rule)
