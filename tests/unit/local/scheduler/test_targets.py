"""Scheduler target details that need no server: context attributes and request spelling."""

from datetime import UTC, datetime

import botocore.session

from runbook_lib.local.scheduler import targets

INVOCATION = targets.Invocation("arn:aws:scheduler:us-east-1:1:schedule/default/s",
                                datetime(2030, 1, 1, 6, 0, tzinfo=UTC), "exec-1", {}, "us-east-1")


def test_context_attributes_are_filled_in():
    text = targets.render_input(
        '{"a": "<aws.scheduler.schedule-arn>", "t": "<aws.scheduler.scheduled-time>", '
        '"e": "<aws.scheduler.execution-id>", "n": "<aws.scheduler.attempt-number>"}',
        INVOCATION, 2)
    assert text == ('{"a": "arn:aws:scheduler:us-east-1:1:schedule/default/s", '
                    '"t": "2030-01-01T06:00:00Z", "e": "exec-1", "n": "2"}')
    assert targets.render_input(None, INVOCATION, 1) == "{}"


def test_universal_input_keys_take_the_apis_own_spelling():
    model = botocore.session.get_session().get_service_model("codebuild")
    shape = model.operation_model("StartBuild").input_shape
    request = {"ProjectName": "p", "EnvironmentVariablesOverride": [
        {"Name": "A", "Value": "1", "Type": "PLAINTEXT"}]}
    assert targets._match_members(request, shape) == {
        "projectName": "p",
        "environmentVariablesOverride": [{"name": "A", "value": "1", "type": "PLAINTEXT"}]}
