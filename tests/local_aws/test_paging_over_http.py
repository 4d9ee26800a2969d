"""The local services' List operations page as AWS does, over HTTP with boto3's paginators:
``maxResults`` honoured and range-checked, a made-up or foreign ``nextToken`` refused with the
service's own code, every item once and in a stable order (local/server/paging.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from botocore.exceptions import ClientError
from helpers import approval_stage, create_s3_pipeline

from runbook_lib.local.codebuild import projects

ROLE = "arn:aws:iam::123456789012:role/paging"


def _code(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def _walk(client, operation: str, items_key: str, **kwargs) -> list[list]:
    paginator = client.get_paginator(operation)
    return [page[items_key] for page in paginator.paginate(**kwargs)]


@pytest.fixture
def report_groups(session, app_name):
    cb = session.client("codebuild")
    names = [f"{app_name}-g{i}" for i in range(5)]
    for name in names:
        cb.create_report_group(name=name, type="TEST",
                               exportConfig={"exportConfigType": "NO_EXPORT"})
    return cb, names


def test_codebuild_honours_max_results_and_lists_each_item_once(report_groups):
    cb, names = report_groups
    pages = _walk(cb, "list_report_groups", "reportGroups", sortBy="NAME",
                  sortOrder="ASCENDING", PaginationConfig={"PageSize": 2})
    assert all(len(page) <= 2 for page in pages)
    listed = [arn for page in pages for arn in page]
    assert len(listed) == len(set(listed))
    ours = [arn.rsplit("/", 1)[1] for arn in listed if arn.rsplit("/", 1)[1] in names]
    assert ours == names  # ascending by name, across pages


def test_codebuild_refuses_bad_foreign_and_oversized_requests(report_groups):
    cb, _ = report_groups
    token = cb.list_report_groups(maxResults=1)["nextToken"]
    assert _code(lambda: cb.list_report_groups(nextToken="3")) == "InvalidInputException"
    assert _code(lambda: cb.list_reports(nextToken=token)) == "InvalidInputException"
    assert _code(lambda: cb.list_report_groups(sortBy="NAME", nextToken=token)) == \
        "InvalidInputException"  # the same operation asked for another order
    assert _code(lambda: cb.list_report_groups(maxResults=101)) == "InvalidInputException"
    assert cb.list_report_groups(nextToken=token, maxResults=1)["reportGroups"]


def test_list_projects_pages_and_no_longer_restarts_on_a_bad_token(session, app_name,
                                                                  monkeypatch):
    monkeypatch.setattr(projects, "LIST_PROJECTS", replace(projects.LIST_PROJECTS, page_size=2))
    cb = session.client("codebuild")
    names = [f"{app_name}-p{i}" for i in range(3)]
    for name in names:
        cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
                          artifacts={"type": "NO_ARTIFACTS"}, serviceRole=ROLE,
                          environment={"type": "LINUX_CONTAINER", "computeType":
                                       "BUILD_GENERAL1_SMALL",
                                       "image": "aws/codebuild/standard:7.0"})
    pages = _walk(cb, "list_projects", "projects", sortBy="NAME", sortOrder="ASCENDING")
    assert max(len(page) for page in pages) == 2 and len(pages) >= 2
    listed = [name for page in pages for name in page]
    assert [n for n in listed if n in names] == names and len(listed) == len(set(listed))
    assert _code(lambda: cb.list_projects(nextToken="2")) == "InvalidInputException"


@pytest.fixture
def tagged_pipeline(session, app_name):
    cp = session.client("codepipeline")
    tags = [{"key": f"k{i}", "value": str(i)} for i in range(5)]
    created = create_s3_pipeline(session, app_name, f"{app_name}-paged", f"{app_name}-paging",
                                 approval_stage(), key="absent.zip", tags=tags)
    arn = cp.get_pipeline(name=created["name"])["metadata"]["pipelineArn"]
    return cp, arn, tags


def test_codepipeline_pages_tags_and_pipelines(tagged_pipeline):
    cp, arn, tags = tagged_pipeline
    pages = _walk(cp, "list_tags_for_resource", "tags", resourceArn=arn,
                  PaginationConfig={"PageSize": 2})
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [tag for page in pages for tag in page] == tags
    pipelines = [p["name"] for page in _walk(cp, "list_pipelines", "pipelines",
                                             PaginationConfig={"PageSize": 1})
                 for p in page]
    assert len(pipelines) == len(set(pipelines)) and arn.rsplit(":", 1)[1] in pipelines


def test_codepipeline_refuses_bad_foreign_and_oversized_requests(tagged_pipeline):
    cp, arn, _ = tagged_pipeline
    token = cp.list_tags_for_resource(resourceArn=arn, maxResults=1)["nextToken"]
    assert _code(lambda: cp.list_pipelines(nextToken=token)) == "InvalidNextTokenException"
    assert _code(lambda: cp.list_tags_for_resource(resourceArn=arn, nextToken="1")) == \
        "InvalidNextTokenException"
    assert _code(lambda: cp.list_pipelines(maxResults=1001)) == "ValidationException"
    assert _code(lambda: cp.list_webhooks(MaxResults=101)) == "ValidationException"
    assert cp.list_tags_for_resource(resourceArn=arn, nextToken=token)["tags"][0]["key"] == "k1"
