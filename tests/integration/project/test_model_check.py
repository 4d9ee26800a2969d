"""The request checker (tests/model_check.py) sees every session's requests to the local AWS,
and leaves a request a test sends on purpose to the service."""

from __future__ import annotations

import pytest
from model_check import expected_violation

from runbook_lib.operate import summaries


def test_a_library_request_with_a_malformed_id_is_stopped_before_it_is_sent(session):
    with expected_violation() as refused:
        summaries.get_execution(session, "app-pipeline", "not-an-id")
    assert "pipelineExecutionId='not-an-id'" in str(refused.value)
    assert not session.recorder.calls  # stopped before botocore sent anything


def test_a_request_a_test_sends_itself_is_left_to_the_service(session):
    client = session.client("codepipeline")
    with pytest.raises(client.exceptions.PipelineNotFoundException):
        client.get_pipeline_execution(pipelineName="no-such-pipeline",
                                      pipelineExecutionId="not-an-id")


def test_the_library_never_sends_an_empty_execution_id(session):
    with pytest.raises(Exception, match="execution_id") as refused:
        summaries.get_execution(session, "app-pipeline", "")
    assert "must not be empty" in str(refused.value)
    assert not session.recorder.calls
