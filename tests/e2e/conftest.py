"""End-to-end fixtures: a local AWS of the module's own, in a subprocess, as an operator runs it.

``local_stack`` is a fresh local AWS (`runbook local start` with a throw-away state folder);
``set_up_stack`` is the same with the suite's setup notebooks applied (the whole stack: bucket,
roles, build project, config, pipeline, monitoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import apply_setup, local_aws_env

from runbook_lib.local.server import process


@dataclass(frozen=True)
class LocalStack:
    """Where the subprocess local AWS listens, its state folder and the environment to reach it."""

    endpoint_url: str
    state_dir: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory) -> LocalStack:
    state = tmp_path_factory.mktemp("e2e-state")
    status = process.start(state)
    yield LocalStack(status.endpoint_url, state, local_aws_env(status))
    process.stop(state)


@pytest.fixture(scope="module")
def set_up_stack(local_stack, tmp_path_factory) -> LocalStack:
    apply_setup(local_stack.env, tmp_path_factory.mktemp("e2e-setup-out"))
    return local_stack
