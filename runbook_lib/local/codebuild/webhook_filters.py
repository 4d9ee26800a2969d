"""CodeBuild webhook filter groups: which pushes start a build, as CodeBuild decides.

A webhook's ``filterGroups`` is a list of groups; a push starts a build when **any** group
passes, and a group passes when **every** filter in it passes. Each group holds exactly one
``EVENT`` filter (a comma-separated list of events). A filter's ``pattern`` is a regular
expression searched in the push's value for its ``type``; ``excludeMatchedPattern`` inverts
it. The values of a push on the local AWS (a moved branch or tag head in a registered
repository):

- ``EVENT``: ``PUSH`` (pull request and release events never happen locally);
- ``HEAD_REF``: ``refs/heads/<branch>`` or ``refs/tags/<tag>``;
- ``BASE_REF``: none (a push has no base; only pull requests do), so it passes only excluded;
- ``FILE_PATH``: the files the push changed (passes when one matches);
- ``COMMIT_MESSAGE``: the head commit's message;
- ``ACTOR_ACCOUNT_ID``: the head commit's author name (there is no GitHub account here);
- ``REPOSITORY_NAME``: the repository's name. Other types have no value for a push.

The deprecated ``branchFilter`` (a regular expression on the branch name) applies too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from runbook_lib.local.server.wire import AwsError

FILTER_TYPES = ("EVENT", "BASE_REF", "HEAD_REF", "ACTOR_ACCOUNT_ID", "FILE_PATH",
                "COMMIT_MESSAGE", "WORKFLOW_NAME", "TAG_NAME", "RELEASE_NAME",
                "REPOSITORY_NAME", "ORGANIZATION_NAME")
EVENTS = ("PUSH", "PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED", "PULL_REQUEST_REOPENED",
          "PULL_REQUEST_MERGED", "PULL_REQUEST_CLOSED", "RELEASED", "PRERELEASED",
          "WORKFLOW_JOB_QUEUED")


@dataclass(frozen=True)
class Push:
    """A moved head: the ref, its previous and new commit, and lazy readers for the rest."""

    ref: str
    old: str | None
    new: str
    repository: str
    changed_files: Callable[[], list[str]]
    message: Callable[[], str]
    author: Callable[[], str]


def validate(filter_groups: list, branch_filter: str | None) -> None:
    """CodeBuild's checks: known types, one EVENT filter per group, known events, patterns
    that compile. InvalidInputException names the group, the filter and the fix."""
    if not isinstance(filter_groups, list):
        raise AwsError("InvalidInputException", "filterGroups must be a list of filter groups")
    for g, group in enumerate(filter_groups):
        events = [f for f in group or [] if f.get("type") == "EVENT"]
        if len(events) != 1:
            raise AwsError("InvalidInputException", f"filterGroups[{g}] has {len(events)} "
                           "EVENT filters; each filter group needs exactly one")
        for f, item in enumerate(group):
            where = f"filterGroups[{g}][{f}]"
            if item.get("type") not in FILTER_TYPES:
                raise AwsError("InvalidInputException", f"{where}.type {item.get('type')!r} "
                               f"is not one of {', '.join(FILTER_TYPES)}")
            if not item.get("pattern"):
                raise AwsError("InvalidInputException", f"{where}.pattern is required")
            if item["type"] == "EVENT":
                unknown = [e for e in _events(item["pattern"]) if e not in EVENTS]
                if unknown:
                    raise AwsError("InvalidInputException", f"{where}: unknown event(s) "
                                   f"{', '.join(unknown)}; use {', '.join(EVENTS)}")
            else:
                _compile(item["pattern"], where)
    if branch_filter:
        _compile(branch_filter, "branchFilter")


def starts_build(webhook: dict, push: Push) -> bool:
    """Whether the push starts a build of the webhook's project."""
    branch_filter = webhook.get("branchFilter")
    if branch_filter:
        branch = push.ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        if not re.search(branch_filter, branch):
            return False
    groups = webhook.get("filterGroups") or []
    if not groups:
        return True  # no filter groups: every push builds
    return any(all(_passes(f, push) for f in group) for group in groups)


def _passes(item: dict, push: Push) -> bool:
    kind, pattern = item["type"], item["pattern"]
    if kind == "EVENT":
        matched = "PUSH" in _events(pattern)
    elif kind == "FILE_PATH":
        matched = any(re.search(pattern, path) for path in push.changed_files())
    else:
        value = _value(kind, push)
        matched = value is not None and re.search(pattern, value) is not None
    return matched != bool(item.get("excludeMatchedPattern"))


def _value(kind: str, push: Push) -> str | None:
    readers = {"HEAD_REF": lambda: push.ref, "COMMIT_MESSAGE": push.message,
               "ACTOR_ACCOUNT_ID": push.author,
               "REPOSITORY_NAME": lambda: push.repository.rsplit("/", 1)[-1]}
    reader = readers.get(kind)
    return reader() if reader else None


def trigger_variables(push: Push) -> dict[str, str]:
    """The CODEBUILD_WEBHOOK_* variables CodeBuild sets in a build a push started."""
    kind, _, name = push.ref.removeprefix("refs/").partition("/")
    return {"CODEBUILD_WEBHOOK_EVENT": "PUSH", "CODEBUILD_WEBHOOK_HEAD_REF": push.ref,
            "CODEBUILD_WEBHOOK_BASE_REF": "",
            "CODEBUILD_WEBHOOK_TRIGGER": f"{'tag' if kind == 'tags' else 'branch'}/{name}",
            "CODEBUILD_WEBHOOK_PREV_COMMIT": push.old or "",
            "CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID": push.author()}


def _events(pattern: str) -> list[str]:
    return [e.strip() for e in pattern.split(",") if e.strip()]


def _compile(pattern: str, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as err:
        raise AwsError("InvalidInputException", f"{where}: pattern {pattern!r} is not a valid "
                       f"regular expression ({err})") from err
