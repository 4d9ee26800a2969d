"""Bounded waiting for a role IAM has not propagated yet, and adopting what a lost answer made."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from runbook_lib.core import converge
from runbook_lib.core.errors import StepError

ROLE = "arn:aws:iam::123456789012:role/app-codebuild"


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateProject")


NOT_READY = [
    ("codebuild", "InvalidInputException",
     "CodeBuild is not authorized to perform: sts:AssumeRole on " + ROLE),
    ("codepipeline", "InvalidStructureException",
     "CodePipeline is not authorized to perform AssumeRole on role " + ROLE),
    ("cannot be assumed", "InvalidInputException", f"Role {ROLE} cannot be assumed"),
]


@pytest.mark.parametrize("code, message", [c[1:] for c in NOT_READY], ids=[c[0] for c in NOT_READY])
def test_role_not_ready_is_recognised(code, message):
    assert converge.role_not_ready(_error(code, message))


@pytest.mark.parametrize("code, message", [
    ("InvalidInputException", "Invalid compute type"),
    ("ResourceAlreadyExistsException", "cannot be assumed"),
    ("AccessDeniedException", "User is not authorized to perform: codebuild:CreateProject"),
])
def test_other_errors_are_not_taken_for_propagation(code, message):
    assert not converge.role_not_ready(_error(code, message))


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_retries_with_backoff_until_the_role_is_assumable():
    clock, answers = _Clock(), iter([_error(*NOT_READY[0][1:])] * 3 + ["created"])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert converge.while_role_propagates(call, "create project", ROLE, sleep=clock.sleep,
                                          clock=lambda: clock.now) == "created"
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_gives_up_after_the_bound_with_a_clear_error():
    clock = _Clock()

    def call():
        raise _error(*NOT_READY[0][1:])

    with pytest.raises(StepError) as err:
        converge.while_role_propagates(call, "create project", ROLE, timeout=30,
                                       sleep=clock.sleep, clock=lambda: clock.now)
    assert ROLE in str(err.value) and "Fix:" in str(err.value)
    assert isinstance(err.value.__cause__, ClientError)
    assert sum(clock.sleeps) <= 30


def test_other_errors_go_through_at_once():
    clock = _Clock()

    def call():
        raise _error("InvalidInputException", "Invalid compute type")

    with pytest.raises(ClientError):
        converge.while_role_propagates(call, "x", ROLE, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.sleeps == []


def test_a_missing_role_is_not_waited_for():
    clock = _Clock()

    def call():
        raise _error(*NOT_READY[0][1:])

    with pytest.raises(ClientError):
        converge.while_role_propagates(call, "x", ROLE, role_exists=lambda: False,
                                       sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.sleeps == []
