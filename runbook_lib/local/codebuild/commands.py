"""What a buildspec asks of the shell: which shell, one shell or one per command, which user.

CodeBuild's rules (buildspec reference): ``env.shell`` picks ``bash`` or ``/bin/sh`` on Linux
(``powershell.exe`` and ``cmd.exe`` are Windows images' shells); version 0.2 runs every
command of a build in one shell instance, version 0.1 "runs each command in a separate
instance of the default shell"; ``run-as`` runs a phase's commands as a Linux user. What this
machine cannot do (a Windows shell, a user that does not exist here, a Docker engine that is
not there) fails the build with CodeBuild's phase-context code and says why in the log.
"""

from __future__ import annotations

import getpass
import os
import pwd
import re
import shutil
from collections.abc import Callable, Sequence

from runbook_lib.buildspec.model import WINDOWS_SHELLS, Buildspec, Phase
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.shell import BuildShell

SHELL_PROGRAMS = {"bash": ("bash", "--noprofile", "--norc"), "/bin/sh": ("/bin/sh",)}
DEFAULT_SHELL = "bash"
_DOCKER_RE = re.compile(r"(^|[\s;&|(])(docker(-compose)?|dockerd)(\s|$)")
_DOCKER_SOCKET = "/var/run/docker.sock"


def shell_program(spec: Buildspec) -> tuple[str, ...]:
    """The argv of the shell ``env.shell`` names; a Windows shell fails DOWNLOAD_SOURCE."""
    name = spec.env.shell or DEFAULT_SHELL
    if name in WINDOWS_SHELLS:
        raise PhaseFailed("YAML_FILE_ERROR", f"env.shell {name} is the shell of Windows build "
                          "images; this machine runs Linux shells (bash, /bin/sh). Set "
                          "env.shell to bash or /bin/sh, or remove it")
    return SHELL_PROGRAMS[name]


def check_run_as(spec: Buildspec, phase: Phase) -> str | None:
    """The phase's ``run-as`` user (phase before global); fail when it cannot run here.

    Commands run as the user that runs the local AWS; a ``run-as`` naming that user (or
    root, when the server runs as root) is honoured as is. Another user cannot be switched to
    without root, and a user that does not exist here fails as it would in CodeBuild.
    """
    user = phase.run_as or spec.run_as
    if user is None:
        return None
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise PhaseFailed("COMMAND_EXECUTION_ERROR", f"Error while executing command: run-as "
                          f"{user}. Reason: user {user} does not exist on this machine; "
                          "create the user or remove run-as") from None
    if user != getpass.getuser():
        raise PhaseFailed("COMMAND_EXECUTION_ERROR", f"Error while executing command: run-as "
                          f"{user}. Reason: the local AWS runs as {getpass.getuser()} and "
                          f"cannot switch to {user}; remove run-as for local builds")
    return user


def docker_unavailable(command: str) -> str | None:
    """A log line when a failed command used Docker and this machine has no Docker engine."""
    if not _DOCKER_RE.search(command):
        return None
    if shutil.which("docker") is None:
        return ("Docker is not installed on this machine: the local runner does not start a "
                "Docker daemon as CodeBuild's privileged mode does. Install Docker, or run "
                "this build on AWS")
    if not os.path.exists(_DOCKER_SOCKET) and not os.environ.get("DOCKER_HOST"):
        return ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the "
                "docker daemon running? (the local runner uses this machine's engine)")
    return None


def command_failed(command: str, status: int, say: Callable[[str], None]) -> PhaseFailed:
    """CodeBuild's log line and phase context for a command that failed (with a hint when it
    needed a Docker engine this machine lacks)."""
    say(f"Command did not exit successfully {command} exit status {status}")
    hint = docker_unavailable(command)
    if hint:
        say(hint)
    return PhaseFailed("COMMAND_EXECUTION_ERROR", f"Error while executing command: "
                       f"{command}. Reason: exit status {status}")


def run_each_in_own_shell(shell: BuildShell, commands: Sequence[str], prelude: str,
                          on_start: Callable[[int], None], on_line: Callable[[str], None]
                          ) -> tuple[int, int]:
    """Version 0.1: every command in a new shell; returns (last index run, its status)."""
    for index, command in enumerate(commands):
        shell.fresh()

        def announce(_i: int, index: int = index) -> None:  # each shell runs one command
            on_start(index)

        result = shell.run_commands([command], announce, on_line, prelude)
        if result.status != 0:
            return index, result.status
    return max(len(commands) - 1, 0), 0
