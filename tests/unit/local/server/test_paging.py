"""The one pager of the local services' List operations (local/server/paging.py), case by case.

Over HTTP with boto3's paginators: tests/local_aws/test_paging_over_http.py.
"""

from __future__ import annotations

import pytest

from runbook_lib.local.server.paging import CODEBUILD, CODEPIPELINE, PageRule, page
from runbook_lib.local.server.wire import AwsError

RULE = PageRule("ListThings", "things", CODEPIPELINE, page_size=3, max_results=5)
FIXED = PageRule("ListFixed", "ids", CODEBUILD, page_size=2, max_results=None)
ITEMS = [f"thing-{i}" for i in range(7)]


def _all_pages(items, body, rule):
    pages, token = [], None
    while True:
        answer = page(items, {**body, **({rule.token_key: token} if token else {})}, rule)
        pages.append(answer[rule.items_key])
        token = answer.get(rule.token_key)
        if token is None:
            return pages


@pytest.mark.parametrize(("body", "rule", "sizes"), [
    ({}, RULE, [3, 3, 1]),
    ({"maxResults": 5}, RULE, [5, 2]),
    ({"maxResults": 1}, RULE, [1] * 7),
    ({"maxResults": 50}, FIXED, [2, 2, 2, 1]),  # an operation without maxResults ignores it
], ids=["default size", "maxResults 5", "maxResults 1", "fixed page size"])
def test_pages_cover_every_item_once_in_order(body, rule, sizes):
    pages = _all_pages(ITEMS, body, rule)
    assert [len(p) for p in pages] == sizes
    assert [item for p in pages for item in p] == ITEMS


@pytest.mark.parametrize("wanted", [0, 6, -1, "3", 2.5, True])
def test_max_results_outside_its_range_is_the_service_s_validation_error(wanted):
    with pytest.raises(AwsError) as err:
        page(ITEMS, {"maxResults": wanted}, RULE)
    assert err.value.code == "ValidationException"


def _first_token(body=None, rule=RULE):
    return page(ITEMS, dict(body or {}), rule)[rule.token_key]


@pytest.mark.parametrize(("body", "rule", "code"), [
    ({"nextToken": "3"}, RULE, "InvalidNextTokenException"),  # the old offset tokens
    ({"nextToken": "garbage!"}, RULE, "InvalidNextTokenException"),
    ({"nextToken": "e30"}, RULE, "InvalidNextTokenException"),  # base64 of "{}"
    ({"nextToken": "zz"}, FIXED, "InvalidInputException"),
], ids=["an offset", "not base64", "empty JSON", "CodeBuild's code"])
def test_a_made_up_token_is_refused_not_restarted(body, rule, code):
    with pytest.raises(AwsError) as err:
        page(ITEMS, body, rule)
    assert err.value.code == code


def test_a_token_from_another_operation_or_other_parameters_is_refused():
    other = PageRule("ListOthers", "things", CODEPIPELINE, page_size=3, max_results=5)
    with pytest.raises(AwsError) as err:
        page(ITEMS, {"nextToken": _first_token(rule=other)}, RULE)
    assert err.value.code == "InvalidNextTokenException"
    token = _first_token({"pipelineName": "a"})
    with pytest.raises(AwsError):
        page(ITEMS, {"pipelineName": "b", "nextToken": token}, RULE)
    # maxResults may change between pages, as botocore's paginator allows
    resumed = page(ITEMS, {"pipelineName": "a", "nextToken": token, "maxResults": 1}, RULE)
    assert resumed["things"] == ["thing-3"]


def test_a_page_resumes_after_the_last_item_even_when_items_came_before_it():
    first = page(ITEMS, {}, RULE)
    newer = ["thing-new", *ITEMS]  # newest first: a new build appears at the head
    second = page(newer, {"nextToken": first["nextToken"]}, RULE)
    assert second["things"] == ITEMS[3:6]
    fewer = [i for i in ITEMS if i != "thing-0"]
    assert page(fewer, {"nextToken": first["nextToken"]}, RULE)["things"] == ITEMS[3:6]


def test_when_the_last_item_is_gone_the_page_starts_at_its_place():
    first = page(ITEMS, {}, RULE)
    without = [i for i in ITEMS if i != "thing-2"]
    assert page(without, {"nextToken": first["nextToken"]}, RULE)["things"] == ITEMS[3:6]


def test_dict_items_are_followed_by_their_unique_key():
    rule = PageRule("ListRuns", "runs", CODEPIPELINE, page_size=2, max_results=5, unique="id")
    runs = [{"id": f"r{i}", "status": "InProgress"} for i in range(4)]
    first = page(runs, {}, rule)
    changed = [{**r, "status": "Succeeded"} for r in runs]  # statuses move between pages
    assert page(changed, {"nextToken": first["nextToken"]}, rule)["runs"] == changed[2:]


def test_webhook_style_capitalised_keys():
    rule = PageRule("ListWebhooks", "webhooks", CODEPIPELINE, token_key="NextToken",
                    limit_key="MaxResults")
    answer = page(ITEMS, {"MaxResults": 4}, rule)
    assert answer["webhooks"] == ITEMS[:4] and "NextToken" in answer
    assert page(ITEMS, {"NextToken": answer["NextToken"]}, rule)["webhooks"] == ITEMS[4:]


def test_when_the_next_item_is_gone_the_page_starts_after_the_last():
    first = page(ITEMS, {}, RULE)
    without = [i for i in ITEMS if i != "thing-3"]
    assert page(without, {"nextToken": first["nextToken"]}, RULE)["things"] == ITEMS[4:7]


def test_items_without_the_unique_key_are_told_apart_by_their_content():
    rule = PageRule("ListRuns", "runs", CODEPIPELINE, page_size=2, max_results=5, unique="id")
    runs = [{"n": i} for i in range(5)]
    first = page(runs, {}, rule)
    assert page([{"n": -1}, *runs], {"nextToken": first["nextToken"]}, rule)["runs"] == \
        runs[2:4]
