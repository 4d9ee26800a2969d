"""Which commit an execution ran, when its summary does not say.

``sourceRevisions`` and ``artifactRevisions`` are optional in CodePipeline's model, and AWS's own
examples omit them. The Source action's execution still tells: its output variables hold
``CommitId``, ``CommitMessage`` and ``AuthorDate`` (git sources), and its execution result's
``externalExecutionId`` is the commit for git sources. Pure functions over
ListActionExecutions details, so every reader uses the same fallbacks in the same order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Source providers whose external execution id is a commit (S3's is an object version).
GIT_PROVIDERS = ("CodeCommit", "CodeStarSourceConnection", "GitHub", "GitLab", "Bitbucket")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")


@dataclass(frozen=True)
class SourceCommit:
    """The commit an execution's Source action delivered."""

    commit_id: str
    message: str = ""
    author_date: datetime | None = None


def first_revision(revisions: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The first revision that names something (``revisionId``), else an empty mapping."""
    return next((r for r in revisions or () if r.get("revisionId")), {})


def revision_message(revision: Mapping[str, Any]) -> str:
    """First line of a revision's message; connection sources put it in JSON
    (``{"ProviderType": "GitHub", "CommitMessage": ...}``), CodeCommit as plain text."""
    text = revision.get("revisionSummary") or ""
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("CommitMessage", ""))
        except (ValueError, AttributeError):
            pass
    return text.splitlines()[0] if text else ""


def source_commit(item: Mapping[str, Any]) -> SourceCommit | None:
    """The commit one Source action execution delivered; None for other actions or when the
    record names none."""
    type_id = (item.get("input") or {}).get("actionTypeId") or {}
    if type_id.get("category") != "Source":
        return None
    output = item.get("output") or {}
    variables = output.get("outputVariables") or {}
    commit = variables.get("CommitId") or ""
    if not commit:
        external = (output.get("executionResult") or {}).get("externalExecutionId") or ""
        if type_id.get("provider") in GIT_PROVIDERS or _SHA.match(external):
            commit = external
    if not commit:
        return None
    message = (variables.get("CommitMessage") or "").splitlines()
    return SourceCommit(commit, message[0] if message else "",
                        parse_time(variables.get("AuthorDate") or ""))


def commits_by_execution(items: Iterable[Mapping[str, Any]]) -> dict[str, SourceCommit]:
    """execution id -> the commit its (first-started) Source action delivered."""
    found: dict[str, tuple[datetime, SourceCommit]] = {}
    for item in items:
        commit = source_commit(item)
        execution_id = item.get("pipelineExecutionId") or ""
        if commit is None or not execution_id:
            continue
        started = item.get("startTime") or datetime.max.replace(tzinfo=UTC)
        if execution_id not in found or started < found[execution_id][0]:
            found[execution_id] = (started, commit)
    return {eid: commit for eid, (_, commit) in found.items()}


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (``2020-05-08T17:45:43Z``) as an aware datetime; None if unreadable."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
