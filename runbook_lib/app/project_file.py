"""``runbook.toml``: the parameters given once, remembered in the working directory.

Typing ``-p app_name=... -p source_repo=...`` again for every command, and exporting the local
AWS's variables in each new shell, is how an operator ends up with a second local AWS on
another state folder and "pipeline not found". The AWS SAM CLI has the habit this follows:
``sam deploy --guided`` writes ``samconfig.toml`` beside the project and every later ``sam``
command reads it. So the first ``runbook run`` with ``-p`` overrides writes them here, and
``run``, ``status``, ``teardown``, ``report``, ``triage``, ``lab`` and ``local env`` read them:

    # runbook.toml
    version = 1
    target = "local"

    [local]
    state_dir = "/home/me/.runbook/local"

    [parameters]
    app_name = "my-app"
    source_repo = "my-org/my-app"

TOML, as SAM does, because it is the file format Python reads without a dependency
(``tomllib``), it has real booleans and numbers (no ``yes`` that means true), and a
hand-edited file stays readable. Only the shared model's fields are kept (the app and its
build, never one-off choices such as ``apply`` or an approval ``summary``), and never a secret:
every value passed the parameter checks, which refuse secrets, before it is written.
``RUNBOOK_PARAMS_FILE`` names another file; ``RUNBOOK_PARAMS_FILE=off`` turns the file off.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import InputError
from runbook_lib.core.local_endpoint import default_state_dir
from runbook_lib.core.params import Params

FILE_NAME = "runbook.toml"
FILE_ENV = "RUNBOOK_PARAMS_FILE"
STATE_ENV = "RUNBOOK_STATE_DIR"
VERSION = 1
# What is remembered: the app and its build; not the target (its own key) or one-off choices.
REMEMBERED = frozenset(f.name for f in fields(Params)) - {"extra", "target"}
_FIX = "fix the file by hand (TOML: name = \"value\") or delete it; `runbook run -p ...` " \
       "writes a new one"


@dataclass
class ProjectFile:
    """The file's path (None: turned off) and what it holds."""

    path: Path | None
    exists: bool = False
    target: str = ""
    state_dir: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.path is None:
            return f"parameters file off ({FILE_ENV}=off)"
        if not self.exists:
            return f"no parameters file ({self.path} is written by `runbook run -p ...`)"
        return f"parameters from {self.path}"


def location() -> Path | None:
    """``$RUNBOOK_PARAMS_FILE`` (``off``: none), else ``./runbook.toml``."""
    given = os.environ.get(FILE_ENV, "")
    if given.strip().lower() == "off":
        return None
    return Path(given).expanduser() if given else Path.cwd() / FILE_NAME


def read(path: Path | None = None) -> ProjectFile:
    """The parameters file, or an empty one when there is none; a broken file is refused."""
    path = location() if path is None else path
    if path is None or not path.is_file():
        return ProjectFile(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(str(path), "…", f"cannot be read as TOML ({err})", _FIX) from None
    params = data.get("parameters", {})
    local = data.get("local", {})
    if not isinstance(params, dict) or not isinstance(local, dict):
        raise InputError(str(path), "…", "[parameters] and [local] must be tables", _FIX)
    unknown = sorted(set(params) - REMEMBERED)
    if unknown:
        raise InputError(str(path), ", ".join(unknown), f"holds parameters it does not keep: "
                         f"{', '.join(unknown)}", _FIX)
    return ProjectFile(path, True, str(data.get("target", "")),
                       str(local.get("state_dir", "")), dict(params))


def remember(current: ProjectFile, given: dict[str, Any], target: str, state_dir: str
             ) -> bool:
    """Write the file with ``given``'s remembered parameters over the ones it held.

    ``given`` holds checked values only (secrets were refused before). True when written.
    """
    if current.path is None:
        return False
    wanted = {k: v for k, v in given.items() if k in REMEMBERED}
    merged = {**current.parameters, **wanted}
    if current.exists and merged == current.parameters and state_dir == current.state_dir \
            and target == current.target:
        return False
    if not current.exists and not wanted:
        return False
    current.path.write_text(render(merged, target, state_dir), encoding="utf-8")
    current.parameters, current.target, current.state_dir = merged, target, state_dir
    current.exists = True
    return True


def render(parameters: dict[str, Any], target: str, state_dir: str) -> str:
    """The file's text: a header saying what it is, then the tables."""
    lines = ["# Parameters remembered by `runbook run` (never secrets). Read by run, status,",
             "# teardown, report, triage and lab. Edit, or pass -p NAME=VALUE to change one.",
             f"version = {VERSION}", f"target = {_value(target)}", ""]
    if state_dir:
        lines += ["[local]", f"state_dir = {_value(state_dir)}", ""]
    lines.append("[parameters]")
    lines += [f"{name} = {_value(value)}" for name, value in sorted(parameters.items())]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    """A TOML value: JSON's string escapes are TOML's basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_value(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps("" if value is None else str(value), ensure_ascii=False)


def adopt_state_dir(found: ProjectFile) -> str:
    """Use the file's local AWS state folder unless ``RUNBOOK_STATE_DIR`` names one; the
    folder in use, for the commands to say."""
    if found.state_dir and not os.environ.get(STATE_ENV):
        os.environ[STATE_ENV] = found.state_dir
    return str(default_state_dir())
