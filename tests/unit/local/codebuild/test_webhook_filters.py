"""CodeBuild webhook filter groups (runbook_lib/local/codebuild/webhook_filters.py): a push
starts a build when any group passes, a group when every filter does."""

from __future__ import annotations

import pytest

from runbook_lib.local.codebuild.git_source import repo_id_of
from runbook_lib.local.codebuild.webhook_filters import (
    Push,
    starts_build,
    trigger_variables,
    validate,
)
from runbook_lib.local.server.wire import AwsError


def _push(ref="refs/heads/main", files=("src/app.py",), message="fix", author="ann"):
    return Push(ref=ref, old="a" * 40, new="b" * 40, repository="acme/web",
                changed_files=lambda: list(files), message=lambda: message,
                author=lambda: author)


def _hook(*groups, branch_filter=""):
    return {"filterGroups": [list(g) for g in groups], "branchFilter": branch_filter}


PUSH = {"type": "EVENT", "pattern": "PUSH"}


def test_no_groups_builds_every_push():
    assert starts_build(_hook(), _push())


def test_every_filter_of_a_group_must_pass():
    group = (PUSH, {"type": "HEAD_REF", "pattern": "^refs/heads/main$"},
             {"type": "FILE_PATH", "pattern": r"^src/.*\.py$"})
    assert starts_build(_hook(group), _push())
    assert not starts_build(_hook(group), _push(files=("docs/x.md",)))
    assert not starts_build(_hook(group), _push(ref="refs/heads/dev"))


def test_any_group_is_enough():
    docs = (PUSH, {"type": "FILE_PATH", "pattern": "^docs/"})
    message = (PUSH, {"type": "COMMIT_MESSAGE", "pattern": r"\[build\]"})
    hook = _hook(docs, message)
    assert starts_build(hook, _push(files=("docs/a.md",)))
    assert starts_build(hook, _push(message="x [build]"))
    assert not starts_build(hook, _push())


def test_exclude_inverts_and_base_ref_has_no_value_for_a_push():
    not_bot = (PUSH, {"type": "ACTOR_ACCOUNT_ID", "pattern": "^bot$",
                      "excludeMatchedPattern": True})
    assert starts_build(_hook(not_bot), _push(author="ann"))
    assert not starts_build(_hook(not_bot), _push(author="bot"))
    base = {"type": "BASE_REF", "pattern": "^refs/heads/main$"}
    assert not starts_build(_hook((PUSH, base)), _push())
    assert starts_build(_hook((PUSH, {**base, "excludeMatchedPattern": True})), _push())


def test_pull_request_events_never_happen_locally():
    prs = ({"type": "EVENT", "pattern": "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED"},)
    assert not starts_build(_hook(prs), _push())


def test_branch_filter_and_tags():
    assert not starts_build(_hook(branch_filter="^release/"), _push())
    assert starts_build(_hook(branch_filter="^release/"), _push(ref="refs/heads/release/1"))
    tag = _push(ref="refs/tags/v1.0")
    assert trigger_variables(tag)["CODEBUILD_WEBHOOK_TRIGGER"] == "tag/v1.0"
    assert trigger_variables(_push())["CODEBUILD_WEBHOOK_TRIGGER"] == "branch/main"


@pytest.mark.parametrize("groups", [
    [[{"type": "HEAD_REF", "pattern": "x"}]],
    [[PUSH, PUSH]],
    [[{"type": "EVENT", "pattern": "PUSHED"}]],
    [[PUSH, {"type": "SIZE", "pattern": "x"}]],
    [[PUSH, {"type": "HEAD_REF", "pattern": "["}]],
    [[PUSH, {"type": "HEAD_REF", "pattern": ""}]],
])
def test_invalid_groups_are_refused_naming_the_filter(groups):
    with pytest.raises(AwsError) as caught:
        validate(groups, None)
    assert caught.value.code == "InvalidInputException"
    assert "filterGroups[0]" in str(caught.value.message)


@pytest.mark.parametrize(("location", "expected"), [
    ("https://github.com/acme/web.git", "acme/web"),
    ("https://github.com/acme/web", "acme/web"),
    ("https://gitlab.example.com/group/acme/web.git", "acme/web"),
    ("https://bitbucket.org/acme/web.git", "acme/web"),
    ("web", None),
])
def test_repository_id_of_a_location(location, expected):
    assert repo_id_of(location) == expected
