"""One runner for a pipeline's shell commands: the Commands action and the Commands rule.

AWS runs both on CodeBuild compute, in a fresh container with the role's temporary
credentials. Locally they run exactly as a build does (see docs/security.md, "What it runs"):
in the build sandbox (:mod:`runbook_lib.local.codebuild.sandbox`: own PID namespace, system
folders under a vanishing overlay, no view of the state folder or the operator's home), in
fresh folders laid out as CodeBuild's (``/codebuild/output/src<digits>/src`` holds the input
artifact; :mod:`runbook_lib.local.codebuild.build_paths`), with an environment made from
scratch (nothing of the server's: no ``AWS_*`` keys, tokens or ``RUNBOOK_SECRET_*``) and
temporary credentials for the action's (or rule's, else the pipeline's) role
(:mod:`runbook_lib.local.server.build_credentials`), revoked when the commands end. A stop
(the execution stopped, an override, the server closing) or the rule's timeout ends the
sandbox, and the kernel ends every process it started, ``setsid`` daemons too. Where bubblewrap
cannot run, the commands are refused unless the server was started with
``--unsandboxed-builds``, as builds are.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.core.redact import mask
from runbook_lib.local.archives import extract_zip, make_zip
from runbook_lib.local.codebuild import workspace
from runbook_lib.local.codebuild.build_paths import BuildPaths
from runbook_lib.local.codebuild.commands import SHELL_PROGRAMS
from runbook_lib.local.codebuild.env import build_aws_variables
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.sandbox import use_sandbox
from runbook_lib.local.codebuild.shell import BuildShell, kill_orphan
from runbook_lib.local.server import build_credentials

TAIL_LINES = 5
RUN_FOLDERS = ("commands", "rules")  # <state>/<folder>/<run id>, one per run while it runs
_WATCH_SECONDS = 0.2
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class CommandsJob:
    """One run of commands: where, as whom, with what input, until when."""

    state_dir: Path
    folder: str  # "commands" (actions) or "rules": <state>/<folder>/<run id>
    run_id: str  # the action or rule execution id
    commands: Sequence[str]
    region: str
    endpoint_url: str | None
    role_arn: str
    initiator: str  # codepipeline/<pipeline>, as CODEBUILD_INITIATOR says
    input_zip: bytes | None = None
    output_variables: Sequence[str] = ()
    pack_output: bool = False  # zip the source folder afterwards (an output artifact)
    stop: threading.Event = field(default_factory=threading.Event)
    timeout_seconds: float | None = None


@dataclass
class CommandsResult:
    """How the commands ended: the last one run, its status, what they printed (masked)."""

    index: int
    status: int
    lines: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    output_zip: bytes | None = None
    ended_by: str = ""  # "stopped" or "timed out" when the run was cut short
    refused: str = ""  # why the commands could not run at all (no sandbox here)

    @property
    def succeeded(self) -> bool:
        return not self.refused and self.status == 0

    def summary(self, commands: Sequence[str]) -> str:
        """The operator's one line: which command failed and the output's last lines."""
        if self.refused:
            return self.refused
        tail = " | ".join(line.strip() for line in self.lines[-TAIL_LINES:] if line.strip())
        tail = f": {tail}" if tail else ""
        if self.succeeded:
            return f"{len(commands)} command(s) exited 0{tail}"
        cut = f" (the run was {self.ended_by})" if self.ended_by else ""
        return (f"Command {self.index + 1} ({commands[self.index]!r}) exited "
                f"{self.status}{cut}{tail}")


def run_commands(job: CommandsJob) -> CommandsResult:
    """Run ``job.commands`` in a fresh sandbox up to the first that fails; clean up after."""
    try:
        sandboxed = use_sandbox()
    except PhaseFailed as refused:
        return CommandsResult(0, 1, refused=refused.message)
    work_dir = Path(job.state_dir) / job.folder / _UNSAFE.sub("_", job.run_id)
    paths = BuildPaths.of(work_dir, job.run_id, sandboxed)
    credentials = build_credentials.issue(job.run_id, job.role_arn)
    shell: BuildShell | None = None
    try:
        workspace.prepare_folders(paths)
        if job.input_zip is not None:
            extract_zip(job.input_zip, paths.host_src)
        tools = workspace.toolchain(job.state_dir)
        shell = workspace.open_shell(paths, _environment(job, paths, tools, credentials),
                                     SHELL_PROGRAMS["bash"], tools)
        shell.start()
        return _run_in(shell, job, paths, credentials.secrets())
    finally:
        if shell is not None:
            shell.close()
        build_credentials.revoke(credentials)
        shutil.rmtree(work_dir, ignore_errors=True)


def _environment(job: CommandsJob, paths: BuildPaths, tools,
                 credentials: build_credentials.BuildCredentials) -> dict[str, str]:
    """From scratch, as a build's (see :mod:`runbook_lib.local.codebuild.workspace`)."""
    return {"PATH": tools.path, "HOME": str(paths.inside_home), "LANG": "C.UTF-8",
            **build_aws_variables(job.endpoint_url, job.region,
                                  credentials.full_uri(job.endpoint_url or ""),
                                  credentials.authorization_token),
            "CODEBUILD_CI": "true", "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": job.initiator,
            "CODEBUILD_SRC_DIR": paths.inside(paths.host_src)}


def _run_in(shell: BuildShell, job: CommandsJob, paths: BuildPaths,
            secrets: set[str]) -> CommandsResult:
    """The commands in ``shell``, watched for a stop or the timeout."""
    lines: list[str] = []
    finished = threading.Event()
    ended_by: list[str] = []
    watcher = threading.Thread(target=_watch, args=(shell, job, finished, ended_by),
                               daemon=True, name=f"commands-{job.run_id[-8:]}")
    watcher.start()
    try:
        result = shell.run_commands(list(job.commands), lambda _index: None,
                                    lambda line: lines.append(mask(line, secrets)))
        ok = result.status == 0 and not ended_by
        variables = (shell.read_variables(list(job.output_variables))
                     if ok and job.output_variables else {})
    finally:
        finished.set()
        watcher.join()
    packed = make_zip(paths.host_src) if ok and job.pack_output else None
    status = result.status if result.status != 0 or not ended_by else 1
    return CommandsResult(result.index, status, lines, variables, packed,
                          ended_by[0] if ended_by else "")


def _watch(shell: BuildShell, job: CommandsJob, finished: threading.Event,
           ended_by: list[str]) -> None:
    """Kill the sandbox (and so every process in it) on a stop or at the timeout."""
    deadline = (time.monotonic() + job.timeout_seconds) if job.timeout_seconds else None
    while not finished.wait(_WATCH_SECONDS):
        if job.stop.is_set():
            ended_by.append("stopped")
        elif deadline is not None and time.monotonic() >= deadline:
            ended_by.append("timed out")
        else:
            continue
        shell.kill()
        return


def clear_leftovers(state_dir: Path) -> None:
    """At start: runs a server that died left behind (kill -9) are ended and their folders
    removed (a sandboxed run already died with its server; an unsandboxed one may not have)."""
    for folder in RUN_FOLDERS:
        for left in (Path(state_dir) / folder).glob("*"):
            kill_orphan(left / "commands")
            shutil.rmtree(left, ignore_errors=True)
