"""The request checker itself (tests/model_check.py): what it refuses and accepts. That it sees
every session's requests: tests/integration/project/test_model_check.py."""

from __future__ import annotations

import botocore.session
import pytest
from model_check import check_params

_MODELS = botocore.session.get_session()


def _input(service: str, operation: str):
    return _MODELS.get_service_model(service).operation_model(operation).input_shape


EXECUTION_ID = "0123abcd-4567-89ab-cdef-0123456789ab"


@pytest.mark.parametrize("operation, params, problem", [
    ("GetPipelineExecution", {"pipelineName": "app-pipeline", "pipelineExecutionId": ""},
     "pipelineExecutionId=''"),
    ("GetPipelineExecution", {"pipelineName": "app-pipeline", "pipelineExecutionId": "latest"},
     "pattern"),
    ("GetPipelineExecution", {"pipelineName": "app pipeline!", "pipelineExecutionId":
                              EXECUTION_ID}, "pipelineName"),
    ("GetPipelineExecution", {"pipelineName": "p" * 101, "pipelineExecutionId": EXECUTION_ID},
     "more than 100"),
    ("ListPipelineExecutions", {"pipelineName": "app-pipeline", "maxResults": 1000},
     "outside"),
    ("PutApprovalResult", {"pipelineName": "app-pipeline", "stageName": "Approve",
                           "actionName": "Approve", "token": EXECUTION_ID,
                           "result": {"summary": "ok", "status": "Maybe"}}, "not one of"),
], ids=["empty id", "malformed id", "malformed name", "too long", "out of range", "enum"])
def test_refused(operation, params, problem):
    found = check_params(_input("codepipeline", operation), params, operation)
    assert len(found) == 1 and problem in found[0], found


def test_accepted():
    params = {"pipelineName": "app-pipeline", "pipelineExecutionId": EXECUTION_ID}
    assert check_params(_input("codepipeline", "GetPipelineExecution"), params, "x") == []


def test_patterns_can_be_left_out():
    params = {"pipelineName": "app-pipeline", "pipelineExecutionId": "EXAMPLE-id"}
    shape = _input("codepipeline", "GetPipelineExecution")
    assert check_params(shape, params, "x", patterns=False) == []
