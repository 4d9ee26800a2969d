"""Root pytest hooks: the notebook regression run (nbval) gets its own fresh local AWS.

Notebooks are checked against the outputs of the canonical local run, which starts from an empty
local AWS, so they run against a server of their own, started here in a subprocess with a
throw-away state directory when the first notebook runs. Kernels inherit AWS_ENDPOINT_URL
from this process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_state: dict[str, Path] = {}


def pytest_configure(config) -> None:
    # Tests run like the canonical local run, whatever the developer's shell has configured.
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_PROFILE", None)
    # No runbook.toml written into (or read from) the working directory by the `runbook`
    # commands tests start; tests/cli/test_project_file.py turns it on in a folder of its own.
    os.environ["RUNBOOK_PARAMS_FILE"] = "off"
    _state["nbval"] = bool(config.getoption("nbval", default=False))
    if _state["nbval"]:
        os.environ["RUNBOOK_HEADLESS"] = "1"
        os.environ["MPLBACKEND"] = "Agg"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """The notebooks' local AWS starts when the first notebook does (before nbval starts its
    kernel), so no other test of the session can reach it through AWS_ENDPOINT_URL and leave
    something behind that the canonical run did not have."""
    if not _state.get("nbval") or "dir" in _state or not str(item.fspath).endswith(".ipynb"):
        return
    from runbook_lib.local.server import process

    state_dir = Path(tempfile.mkdtemp(prefix="runbook-nbval-"))
    status = process.start(state_dir)
    _state["dir"] = state_dir
    os.environ["AWS_ENDPOINT_URL"] = status.endpoint_url


def pytest_unconfigure(config) -> None:
    state_dir = _state.pop("dir", None)
    if state_dir is None:
        return
    from runbook_lib.local.server import process

    process.stop(state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)
