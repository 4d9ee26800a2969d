"""Runs one CodeBuild build for real: the buildspec's phases in a shell on this machine.

The phases and their transitions are CodeBuild's (PROVISIONING, DOWNLOAD_SOURCE, INSTALL,
PRE_BUILD, BUILD, POST_BUILD, UPLOAD_ARTIFACTS, FINALIZING, COMPLETED). When a phase fails and
the buildspec sets no ``on-failure``: a failure up to PRE_BUILD goes straight to FINALIZING; a
failed BUILD still runs POST_BUILD; POST_BUILD then goes to UPLOAD_ARTIFACTS, which is
attempted even when BUILD failed. ``on-failure: ABORT`` goes to FINALIZING at once,
``CONTINUE`` runs the next phase (the build still ends FAILED), ``RETRY[-n][-regex]`` runs the
phase again when its output matches. A phase's ``finally`` commands run even when one of its
commands fails. A timeout or StopBuild kills the shell's process group and the build ends
TIMED_OUT or STOPPED through FINALIZING.

Docker and runtime versions are not faked: commands use the machine's tools, and a command
that needs a Docker engine fails with the machine's own error.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
import time
from collections.abc import Callable

from runbook_lib.buildspec.model import Buildspec, Phase
from runbook_lib.core.redact import mask
from runbook_lib.local import clock
from runbook_lib.local.codebuild import events as build_events
from runbook_lib.local.codebuild.build_host import BuildJob
from runbook_lib.local.codebuild.build_paths import BuildPaths
from runbook_lib.local.codebuild.cache import BuildCache
from runbook_lib.local.codebuild.commands import (
    check_run_as,
    command_failed,
    run_each_in_own_shell,
)
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.finishing import BuildOutputs
from runbook_lib.local.codebuild.inputs import BuildInputs
from runbook_lib.local.codebuild.logs import BuildLogWriter
from runbook_lib.local.codebuild.sandbox import use_sandbox
from runbook_lib.local.codebuild.shell import BuildShell
from runbook_lib.local.codebuild.workspace import (
    clear_folders,
    prepare_folders,
    sandbox_note,
)
from runbook_lib.local.server import build_credentials

log = logging.getLogger("runbook.local.builds")

TIMEOUT_SCALE_ENV = "RUNBOOK_LOCAL_TIMEOUT_SCALE"
COMMAND_PHASES = {"INSTALL": "install", "PRE_BUILD": "pre_build", "BUILD": "build",
                  "POST_BUILD": "post_build"}
RUN_ORDER = ("PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
             "UPLOAD_ARTIFACTS", "FINALIZING")
# Where a failed phase leads when the buildspec sets no on-failure (CodeBuild's transitions).
AFTER_FAILURE = {"PROVISIONING": "FINALIZING", "DOWNLOAD_SOURCE": "FINALIZING",
                 "INSTALL": "FINALIZING", "PRE_BUILD": "FINALIZING", "BUILD": "POST_BUILD",
                 "POST_BUILD": "UPLOAD_ARTIFACTS", "UPLOAD_ARTIFACTS": "FINALIZING",
                 "FINALIZING": None}
# Phases CodeBuild's container log does not announce (the agent is not running yet, or done).
_AGENT_PHASES = ("QUEUED", "PROVISIONING", "FINALIZING")
_ABORT_CONTEXTS = {
    "TIMED_OUT": ("BUILD_TIMED_OUT", "Build has timed out."),
    "STOPPED": ("BUILD_STOPPED", "Build was stopped by a StopBuild call."),
}


def timeout_seconds(minutes: int) -> float:
    """A build's timeout; ``$RUNBOOK_LOCAL_TIMEOUT_SCALE`` (seconds per second, default 1)
    shortens it for tests, since AWS's shortest timeout is 5 minutes; the rehearsal clock
    divides it by its factor."""
    return clock.scaled(minutes * 60 * float(os.environ.get(TIMEOUT_SCALE_ENV) or 1))


class BuildRunner(BuildInputs, BuildOutputs):
    """One build, run in the calling thread by :meth:`run`; :meth:`stop` from any thread."""

    def __init__(self, aws, job: BuildJob, publish: Callable[[dict], None]) -> None:
        self.aws = aws
        self.job = job
        self.build = job.record
        self._publish_fn = publish
        self.secrets: set[str] = set()
        self.logs = BuildLogWriter(aws.client("logs", job.region), job.log_location,
                                   lambda: self.secrets)
        self.paths = BuildPaths.of(job.work_dir, job.record["id"], sandboxed=False)
        self.src_dir = self.paths.host_src  # on this machine; the build sees paths.inside()
        self.credentials: build_credentials.BuildCredentials | None = None
        self.shell: BuildShell | None = None
        self.buildspec: Buildspec | None = None
        self.succeeding = True
        self._exports_captured = self._reports_done = False
        self._abort_status: str | None = None
        self._lock = threading.Lock()
        self._finished = threading.Event()

    # -- control -------------------------------------------------------------------------

    def stop(self) -> None:
        self._abort("STOPPED")

    def run(self) -> dict:
        """Run every phase; returns the final record (also published)."""
        self.logs.open()
        watchdog = threading.Thread(target=self._watch_timeout, daemon=True,
                                    name=f"build-timeout-{self.build['id'][-8:]}")
        watchdog.start()
        try:
            self._end_phase("SUCCEEDED")  # QUEUED
            build_events.put_state_change(self._events, self.build)
            phase: str | None = "PROVISIONING"
            while phase:
                status = self._run_phase(phase)
                phase = self._next_phase(phase, status)
            final = self._abort_status or ("SUCCEEDED" if self.succeeding else "FAILED")
            self._wind_down()  # the whole log is in CloudWatch before the build shows done
            self._complete(final)
        finally:
            self._finished.set()
            self._wind_down()
        return self.build

    def _wind_down(self) -> None:
        """End every process, revoke the credentials, drop the folders, flush the log."""
        if self.shell is not None:
            self.shell.close()
        build_credentials.revoke(self.credentials)
        clear_folders(self.paths)
        self.logs.close()

    def cancel_queued(self) -> dict:
        """StopBuild on a build still waiting for a slot: it ends STOPPED without running."""
        self._end_phase("STOPPED")
        self._complete("STOPPED")
        return self.build

    def _abort(self, status: str) -> None:
        with self._lock:
            if self._abort_status or self._finished.is_set():
                return
            self._abort_status = status
        if self.shell is not None:
            self.shell.kill()

    def _watch_timeout(self) -> None:
        if not self._finished.wait(timeout_seconds(self.build["timeoutInMinutes"])):
            self._abort("TIMED_OUT")

    @property
    def _events(self):
        return self.aws.client("events", self.job.region)

    # -- phase bookkeeping ---------------------------------------------------------------

    def _run_phase(self, phase_type: str) -> str:
        self._begin_phase(phase_type)
        handler = {"PROVISIONING": self._provision, "DOWNLOAD_SOURCE": self._download_source,
                   "UPLOAD_ARTIFACTS": self._upload_artifacts,
                   "FINALIZING": self._finalize}.get(phase_type, self._commands_phase)
        context = None
        try:
            if self._abort_status and phase_type != "FINALIZING":
                raise self._abort_failure()
            handler(phase_type)
            status = "SUCCEEDED"
        except PhaseFailed as failure:
            status, context = "FAILED", failure
        if self._abort_status and phase_type != "FINALIZING":
            status, context = self._abort_status, self._abort_failure()
        self._end_phase(status, context)
        if status != "SUCCEEDED":
            self.succeeding = False
        return status

    def _next_phase(self, phase_type: str, status: str) -> str | None:
        following = RUN_ORDER[RUN_ORDER.index(phase_type) + 1] \
            if phase_type != "FINALIZING" else None
        if status == "SUCCEEDED" or following is None:
            return following
        if status != "FAILED":  # STOPPED, TIMED_OUT
            return "FINALIZING"
        phase = self._buildspec_phase(phase_type)
        if phase is not None and self._sets_on_failure(phase):
            if phase.on_failure.action == "CONTINUE":
                return following
            if phase.on_failure.action == "ABORT":
                return "FINALIZING"
        return AFTER_FAILURE[phase_type]

    def _begin_phase(self, phase_type: str) -> None:
        self.build["phases"].append({"phaseType": phase_type, "startTime": time.time()})
        self.build["currentPhase"] = phase_type
        if phase_type == "DOWNLOAD_SOURCE":
            self.logs.container("Waiting for DOWNLOAD_SOURCE")
            self.logs.container("Phase is DOWNLOAD_SOURCE")
        elif phase_type not in _AGENT_PHASES:
            self.logs.container(f"Entering phase {phase_type}")
        self._publish()

    def _end_phase(self, status: str, failure: PhaseFailed | None = None) -> None:
        phase = self.build["phases"][-1]
        now = time.time()
        phase.update(phaseStatus=status, endTime=now,
                     durationInSeconds=int(now - phase["startTime"]))
        message = mask(failure.message, self.secrets) if failure else ""
        phase["contexts"] = ([{"statusCode": failure.status_code, "message": message}]
                             if failure else [{"statusCode": "", "message": ""}])
        if phase["phaseType"] not in _AGENT_PHASES or status != "SUCCEEDED":
            self.logs.container(f"Phase complete: {phase['phaseType']} State: {status}")
            self.logs.container("Phase context status code: "
                                f"{failure.status_code if failure else ''} Message: {message}")
        self._publish()
        build_events.put_phase_change(self._events, self.build, phase)

    def _complete(self, status: str) -> None:
        now = time.time()
        self.build["phases"].append({"phaseType": "COMPLETED", "startTime": now})
        self.build.update(currentPhase="COMPLETED", buildStatus=status, endTime=now,
                          buildComplete=True)
        self._publish()
        build_events.put_state_change(self._events, self.build)

    def _publish(self) -> None:
        self._publish_fn(copy.deepcopy(self.build))

    def _abort_failure(self) -> PhaseFailed:
        if self._abort_status is None:
            raise RuntimeError("_abort_failure() asked while the build is not being stopped")
        code, message = _ABORT_CONTEXTS[self._abort_status]
        return PhaseFailed(code, message)

    # -- phases ---------------------------------------------------------------------------

    def _provision(self, _phase: str) -> None:
        self.paths = BuildPaths.of(self.job.work_dir, self.build["id"], use_sandbox())
        prepare_folders(self.paths)
        env = self.build["environment"]
        self.logs.container(sandbox_note(self.paths))
        self.logs.container(f"Running on the local AWS: image {env.get('image')} is not "
                            "pulled; commands run on this machine with its own tools")
        self.logs.container("Waiting for agent ping")
        if env.get("privilegedMode"):
            self.logs.container("privilegedMode: Docker commands use this machine's engine, "
                                "if it has one")

    def _commands_phase(self, phase_type: str) -> None:
        phase = self._buildspec_phase(phase_type)
        if phase is None or self.buildspec is None:  # a phase comes from a buildspec
            return
        check_run_as(self.buildspec, phase)
        if phase.runtime_versions:
            self.logs.container(f"Runtime versions {dict(phase.runtime_versions)} noted; the "
                                "machine's installed versions are used")
        prelude = f"export CODEBUILD_BUILD_SUCCEEDING={int(self.succeeding)}"
        retries = phase.on_failure.retry_count if phase.on_failure.retries else 0
        for attempt in range(retries + 1):
            output: list[str] | None = [] if attempt < retries else None  # for the regex only
            failure = self._run_commands(phase.commands, output, prelude)
            prelude = ""
            if phase.finally_commands and not self._abort_status:
                failure = self._run_commands(phase.finally_commands, output) or failure
            if failure is None or self._abort_status:
                break
            if output is not None and re.search(phase.on_failure.retry_regex, "\n".join(output)):
                self.logs.container(f"Phase {phase_type} will be retried "
                                    f"(retry {attempt + 1} of {retries})")
                continue
            break
        if failure is not None:
            raise failure

    def _run_commands(self, commands: tuple[str, ...], output: list[str] | None,
                      prelude: str = "") -> PhaseFailed | None:
        """Run commands up to the first failure, each announced as CodeBuild logs it.

        The shell runs them as one batch (see :mod:`build_shell`); only when a command ends
        the shell itself (``exit``) do the remaining ones go to a new shell."""
        def on_line(line: str) -> None:
            self.logs.write(line)
            if output is not None:
                output.append(line)

        shell, buildspec = self.shell, self.buildspec
        if shell is None or buildspec is None:
            raise RuntimeError("commands to run before DOWNLOAD_SOURCE read the buildspec and "
                               "opened the build's shell")
        pending = list(commands)
        if not pending and prelude:
            shell.run(prelude, lambda _line: None)
        if not buildspec.shares_one_shell:
            return self._run_each_in_own_shell(shell, pending, on_line)
        while pending:
            if self._abort_status:
                return self._abort_failure()
            batch = pending
            result = shell.run_commands(batch, self._announce(batch), on_line, prelude)
            prelude = ""
            if self._abort_status:
                return self._abort_failure()
            if not shell.alive():
                self.logs.container("The build's shell exited; the next command starts a new "
                                    "shell, without the variables set so far")
            if result.status != 0:
                return self._command_failed(batch[result.index], result.status)
            pending = batch[result.index + 1:]
        return None

    def _run_each_in_own_shell(self, shell: BuildShell, commands: list[str],
                               on_line: Callable[[str], None]) -> PhaseFailed | None:
        """Version 0.1: each command in a shell of its own (see :mod:`.commands`)."""
        index, status = run_each_in_own_shell(
            shell, commands, f"export CODEBUILD_BUILD_SUCCEEDING={int(self.succeeding)}",
            self._announce(commands), on_line)
        if self._abort_status:
            return self._abort_failure()
        return self._command_failed(commands[index], status) if status != 0 else None

    def _announce(self, commands: list[str]) -> Callable[[int], None]:
        """The shell's ``on_start``: command ``i`` announced in the log, as CodeBuild does."""
        return lambda index: self.logs.container(f"Running command {commands[index]}")

    def _command_failed(self, command: str, status: int) -> PhaseFailed:
        return command_failed(command, status, self.logs.container)

    def _finalize(self, _phase: str) -> None:
        self._capture_exports()
        self._publish_reports()  # when a failed phase skipped UPLOAD_ARTIFACTS
        if self.shell is not None:
            self.shell.close()

    # -- helpers --------------------------------------------------------------------------

    def _buildspec_phase(self, phase_type: str) -> Phase | None:
        name = COMMAND_PHASES.get(phase_type)
        return self.buildspec.phase(name) if name and self.buildspec else None

    def _sets_on_failure(self, phase: Phase) -> bool:
        """Whether the buildspec wrote ``on-failure`` (the parser's default is ABORT)."""
        return self.buildspec is not None and \
            ("phases", phase.name, "on-failure") in self.buildspec.lines

    def _cache(self) -> BuildCache:
        return BuildCache(self.aws, self.job.region, self.build.get("cache") or {},
                          self.build["projectName"], self.src_dir, self.job.cache_dir,
                          self.paths.host_home)
