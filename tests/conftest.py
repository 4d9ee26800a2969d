"""Shared fixtures: one embedded local AWS per test session, reached over real HTTP."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest
from helpers import approve_and_finish, set_up_app

from runbook_lib.core.headless import HEADLESS_ENV
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server.server import LocalAwsServer
from runbook_lib.operate import summaries
from runbook_lib.setup import secret_values

pytest_plugins = ["model_check", "timeline"]  # requests checked against botocore; timings

_counter = itertools.count()

# Fixture apps carry tests of their own, run by their builds, not by this suite.
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory):
    """A local AWS server on a free loopback port, for the whole test session."""
    state_dir = tmp_path_factory.mktemp("local-aws-state")
    server = LocalAwsServer(state_dir, port=0).start_thread()
    exported = server.credentials.environment(server.endpoint_url)  # as `local start` prints
    previous = {k: os.environ.get(k) for k in (*exported, "AWS_PROFILE")}
    os.environ.update(exported)
    os.environ.pop("AWS_PROFILE", None)
    yield server
    server.shutdown()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def session(local_aws) -> AwsSession:
    """A fresh recorded session against the local AWS."""
    return AwsSession(target="local", region="us-east-1", endpoint_url=local_aws.endpoint_url)


@pytest.fixture
def app_name() -> str:
    """A unique app name per test, so tests sharing one local AWS never collide."""
    return f"t{next(_counter)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def params(app_name) -> Params:
    return Params(app_name=app_name)


@pytest.fixture
def names(params):
    return params.names()


@pytest.fixture(scope="module")
def full_stack(local_aws) -> tuple[AwsSession, Params]:
    """One app per test module with the whole stack set up through the library (bucket, roles,
    build project, config, pipeline) and the run its pipeline's creation started in production.
    """
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    params = set_up_app(session, f"fs-{uuid.uuid4().hex[:6]}")
    name = params.names().pipeline
    for run in summaries.list_executions(session, name):
        approve_and_finish(session, name, run.execution_id, "first")
    return session, params



@pytest.fixture
def headless_without_secret_variables(monkeypatch):
    """Headless, with no RUNBOOK_SECRET_* from the developer's shell: for tests of the secret
    prompts and values (``pytest.mark.usefixtures``)."""
    for var in [v for v in os.environ if v.startswith(secret_values.ENV_VAR_PREFIX)]:
        monkeypatch.delenv(var)
    monkeypatch.setenv(HEADLESS_ENV, "1")
