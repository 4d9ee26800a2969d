"""Check the command line's paths before a command starts, and explain what slips through.

A state folder that is a file, an ``--out`` that is a file, a folder nobody may write: each gets
one paragraph naming the option, the path, what is wrong and what to do, before anything starts
or is written. Whatever still fails unforeseen is told in one paragraph too, never as a
traceback (``RUNBOOK_DEBUG=1`` shows the traceback for a bug report).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import tempfile
from pathlib import Path

from runbook_lib.core.errors import InputError

DEBUG_ENV = "RUNBOOK_DEBUG"
STATE_ENV = "RUNBOOK_STATE_DIR"
# Commands that write into the state folder; the others only read it.
_WRITES_STATE = {"serve", "start", "reset", "add", "remove", "env"}


class PathError(InputError):
    """A path given on the command line (or in the environment) cannot serve its purpose."""

    def __init__(self, option: str, path: Path, problem: str, fix: str) -> None:
        super().__init__(f"{option} {path}", str(path), problem, fix)


def check_paths(args: argparse.Namespace) -> None:
    """Refuse unusable path options of the parsed command before it runs."""
    if getattr(args, "command", None) == "local":
        sub = getattr(args, "repo_command", None) or args.local_command
        _check_state_dir(getattr(args, "state_dir", None), writes=sub in _WRITES_STATE)
    elif _starts_local_aws(args):
        _check_state_dir(None, writes=True)
    out = getattr(args, "out", None)
    if out is not None and getattr(args, "command", None) == "report":
        check_output_file("--out", Path(out))
    elif out is not None:
        check_folder("--out", Path(out), writes=True)
    if getattr(args, "dir", None) is not None:
        check_folder("--dir", Path(args.dir), writes=True)
    port = getattr(args, "port", None)
    if port is not None and not 0 <= port <= 65535:
        raise InputError(f"--port {port}", str(port), "is not a TCP port",
                         "pass a number from 1 to 65535, or 0 for any free port")


def _starts_local_aws(args: argparse.Namespace) -> bool:
    """run, teardown, report and lab start a local AWS when none is given by AWS_ENDPOINT_URL."""
    return (getattr(args, "target", None) == "local" and not os.environ.get("AWS_ENDPOINT_URL")
            and not getattr(args, "list", False))


def _check_state_dir(given: Path | None, writes: bool) -> None:
    if given is not None:
        check_folder("--state-dir", Path(given).expanduser(), writes)
    elif os.environ.get(STATE_ENV):
        check_folder(STATE_ENV, Path(os.environ[STATE_ENV]).expanduser(), writes)


def check_folder(option: str, path: Path, writes: bool) -> None:
    """A folder that exists or can be created, and that this user may write into."""
    existing = _nearest_existing(path)
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == path else f"lies under {existing}, which is a file"
        raise PathError(option, path, f"{what}, not a folder",
                        "pass a folder (it is created if missing), or move the file away")
    if writes:
        _probe_writable(option, path if path.is_dir() else existing)


def check_output_file(option: str, path: Path) -> None:
    """A file to write: not a folder, inside a folder that exists or can be created."""
    if path.is_dir():
        raise PathError(option, path, "is a folder, not a file",
                        f"name a file inside it, for example {path / 'health.html'}")
    check_folder(option, path.parent, writes=True)


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe_writable(option: str, folder: Path) -> None:
    """Write-test by writing: permission bits say nothing for root or read-only mounts."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise PathError(option, folder, f"cannot be written ({err.strerror or err})",
                        "pass a folder you may write to, or fix its permissions") from None


def explain(err: BaseException) -> str:
    """One paragraph about an error no check foresaw: what failed, on what, and what next."""
    if isinstance(err, OSError):
        where = f" {err.filename}" if err.filename else ""
        reason = err.strerror or errno.errorcode.get(err.errno or 0, "") or str(err)
        return (f"runbook: cannot use{where}: {reason}. Fix: check that the path exists, is a "
                "file or a folder as the option expects, and that you may read and write it.")
    if isinstance(err, json.JSONDecodeError):
        return ("runbook: an answer that should have been JSON was not (a proxy or another "
                "program may be answering in place of the local AWS). Fix: check "
                "AWS_ENDPOINT_URL and any HTTP proxy settings (HTTP_PROXY, NO_PROXY).")
    if type(err).__module__.startswith("botocore"):
        return (f"runbook: AWS configuration: {err}. Fix: check AWS_PROFILE, AWS_REGION and "
                "your credentials (`aws configure list` shows what boto3 will use).")
    return (f"runbook: unexpected {type(err).__name__}: {err}. This is a fault of runbook, "
            f"not of your input: rerun with {DEBUG_ENV}=1 to see where, and report it.")


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV) == "1"
