"""CodeBuild projects on the local AWS: create, update (which moto lacks), errors in AWS's codes."""

import pytest
from botocore.exceptions import ClientError


def _project(name, **extra):
    body = {
        "name": name,
        "source": {"type": "CODEPIPELINE"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                        "computeType": "BUILD_GENERAL1_SMALL"},
        "serviceRole": "arn:aws:iam::123456789012:role/some-role",
        "tags": [{"key": "team", "value": "ops"}],
    }
    body.update(extra)
    return body


def test_update_project_changes_fields_and_keeps_arn_tags(session, app_name):
    cb = session.client("codebuild")
    created = cb.create_project(**_project(app_name))["project"]
    updated = cb.update_project(name=app_name, timeoutInMinutes=20,
                                logsConfig={"cloudWatchLogs": {"status": "ENABLED",
                                                               "groupName": "/x"}})["project"]
    assert updated["arn"] == created["arn"]
    assert updated["timeoutInMinutes"] == 20
    assert updated["tags"] == [{"key": "team", "value": "ops"}]
    got = cb.batch_get_projects(names=[app_name])["projects"][0]
    assert got["logsConfig"]["cloudWatchLogs"]["groupName"] == "/x"


@pytest.mark.parametrize(
    "case, call, code",
    [
        ("update of a missing project", lambda cb, n: cb.update_project(name=n + "-nope",
                                                                        timeoutInMinutes=9),
         "ResourceNotFoundException"),
        ("create twice", lambda cb, n: [cb.create_project(**_project(n)) for _ in range(2)],
         "ResourceAlreadyExistsException"),
        ("bad compute type", lambda cb, n: cb.create_project(**_project(
            n, environment={"type": "LINUX_CONTAINER", "image": "x",
                            "computeType": "HUGE"})), "InvalidInputException"),
    ],
)
def test_errors_use_aws_codes(session, app_name, case, call, code):
    with pytest.raises(ClientError) as err:
        call(session.client("codebuild"), app_name)
    assert err.value.response["Error"]["Code"] == code, case


def test_list_projects_paginates_and_delete_is_idempotent(session, app_name):
    cb = session.client("codebuild")
    cb.create_project(**_project(app_name))
    listed = [n for page in cb.get_paginator("list_projects").paginate() for n in page["projects"]]
    assert app_name in listed
    cb.delete_project(name=app_name)
    cb.delete_project(name=app_name)
    assert cb.batch_get_projects(names=[app_name])["projectsNotFound"] == [app_name]
