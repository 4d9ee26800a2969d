"""Registering the sample app's repository waits for the local AWS's first look only where a
pipeline could be watching it: notebook 07 registers it just before it creates the pipeline,
and that run of `make run` no longer sleeps for nothing."""

import time
import uuid

import pytest

from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import history

EMPTY_REGION = "ap-southeast-4"  # no test creates a pipeline there


@pytest.fixture
def first_looks(monkeypatch):
    """The first-look waits made meanwhile (other sleeps, such as a lock's back-off, still
    sleep: ``time.sleep`` is the process's)."""
    waits, real = [], time.sleep

    def spy(seconds):
        if seconds == history._FIRST_LOOK_SECONDS:
            waits.append(seconds)
        else:
            real(seconds)

    monkeypatch.setattr(time, "sleep", spy)
    return waits


def _params(region):
    app = f"look-{uuid.uuid4().hex[:6]}"
    return Params(app_name=app, region=region, source_repo=f"acme/{app}")


def test_no_first_look_wait_where_no_pipeline_exists(local_aws, first_looks):
    params = _params(EMPTY_REGION)
    session = AwsSession("local", EMPTY_REGION, endpoint_url=local_aws.endpoint_url)
    assert not history._any_pipeline(session)
    path = history.ensure_local_repository(session, params)
    assert (path / ".git").is_dir()
    assert first_looks == []


def test_first_look_wait_where_a_pipeline_may_watch(full_stack, first_looks):
    session, _ = full_stack  # its pipeline exists in us-east-1
    history.ensure_local_repository(session, _params("us-east-1"))
    assert first_looks == [history._FIRST_LOOK_SECONDS]
