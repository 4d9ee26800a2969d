"""Which commit a run built, from its Source action when its summary does not say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook_lib.operate import revisions

SHA = "0123456789abcdef0123456789abcdef01234567"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _source(provider="CodeStarSourceConnection", variables=None, external="", execution="e1",
            start=T0, category="Source"):
    return {"pipelineExecutionId": execution, "startTime": start,
            "input": {"actionTypeId": {"category": category, "owner": "AWS",
                                       "provider": provider, "version": "1"}},
            "output": {"outputVariables": variables or {},
                       "executionResult": {"externalExecutionId": external}}}


@pytest.mark.parametrize("item, commit", [
    (_source(variables={"CommitId": SHA, "AuthorDate": "2026-01-01T00:00:00Z"}), SHA),
    (_source(external=SHA), SHA),
    (_source(provider="CodeCommit", external="abc1234"), "abc1234"),
    (_source(provider="S3", external="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"), None),
    (_source(category="Build", external=SHA), None),
    (_source(), None),
], ids=["variables", "git external id", "codecommit short id", "s3 version is no commit",
        "not a source action", "nothing said"])
def test_source_commit(item, commit):
    found = revisions.source_commit(item)
    assert (found.commit_id if found else None) == commit


def test_author_date_and_message_come_with_the_commit():
    found = revisions.source_commit(_source(variables={
        "CommitId": SHA, "CommitMessage": "Fix greeting\n\nlong text",
        "AuthorDate": "2026-01-01T10:00:00Z"}))
    assert found.message == "Fix greeting"
    assert found.author_date == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_each_execution_keeps_its_first_started_source():
    later = _source(external="f" * 40, start=T0.replace(hour=5))
    first = _source(external=SHA)
    other = _source(external="e" * 40, execution="e2")
    found = revisions.commits_by_execution([later, other, first])
    assert {k: v.commit_id for k, v in found.items()} == {"e1": SHA, "e2": "e" * 40}


@pytest.mark.parametrize("summary, message", [
    ('{"ProviderType": "GitHub", "CommitMessage": "Add x\\nmore"}', "Add x"),
    ("Edited template.yml", "Edited template.yml"),
    ("", ""),
])
def test_revision_message(summary, message):
    assert revisions.revision_message({"revisionSummary": summary}) == message
