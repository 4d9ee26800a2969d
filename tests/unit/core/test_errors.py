"""The one wrapper for AWS calls in a step: context in, cause chained, a fix only where it fits."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError, aws_step


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "CreateProject")


@pytest.mark.parametrize(("code", "has_fix"), [
    ("InvalidInputException", True), ("ValidationException", True),
    ("AccessDeniedException", False), ("ThrottlingException", False),
], ids=["invalid-input", "validation", "access-denied", "throttled"])
def test_aws_step_names_the_step_and_adds_the_fix_only_for_rejected_input(code, has_fix):
    cause = _client_error(code)
    with pytest.raises(StepError) as caught, aws_step("create project shop", "shorten the name"):
        raise cause
    assert str(caught.value).startswith("create project shop: ")
    assert ("Fix: shorten the name." in str(caught.value)) is has_fix
    assert caught.value.__cause__ is cause


def test_aws_step_lets_other_errors_through():
    with pytest.raises(KeyError), aws_step("read"):
        raise KeyError("x")
