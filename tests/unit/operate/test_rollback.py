"""Rollback's pure parts: choosing the target, the version label, the commit message. Planning,
RollbackStage, a pinned re-run and verification: tests/integration/operate/test_rollback.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook_lib.core.errors import ParameterError
from runbook_lib.operate import rollback
from runbook_lib.operate.rollback import Deployment

A, B, C = "a" * 40, "b" * 40, "c" * 40


def _deps(*commits):
    return [Deployment(f"e{i}", c, deployed_at=datetime(2026, 1, 1, 9, 9 - i, tzinfo=UTC))
            for i, c in enumerate(commits)]


@pytest.mark.parametrize("commits,kwargs,expected", [
    ((B, A), {}, "e1"),
    ((A, B, A), {}, "e1"),  # after a rollback to A, the previous release is B, not A again
    ((C, B, A), {"target_execution_id": "e2"}, "e2"),
    ((C, B, A), {"target_commit": "bbbbbbb"}, "e1"),
    ((C, B), {"target_commit": "d" * 40, "method": "revision"}, ""),
], ids=["previous", "skips-same-commit", "by-execution", "by-short-commit", "unknown-revision"])
def test_choose_target(commits, kwargs, expected):
    assert rollback.choose_target(_deps(*commits), **kwargs).execution_id == expected


@pytest.mark.parametrize("commits,kwargs,error", [
    ((), {}, rollback.NoRollbackTarget),
    ((A, A), {}, rollback.NoRollbackTarget),
    ((A, B), {"target_execution_id": "nope"}, rollback.NoRollbackTarget),
    ((A, B), {"target_commit": "abc"}, ParameterError),
    ((A, B), {"target_commit": "d" * 40}, rollback.NoRollbackTarget),
], ids=["nothing-deployed", "only-one-commit", "unknown-execution", "too-short",
        "unknown-commit-stage-method"])
def test_choose_target_refuses(commits, kwargs, error):
    with pytest.raises(error):
        rollback.choose_target(_deps(*commits), **kwargs)


@pytest.mark.parametrize("html,commit,ok", [
    ('<p id="version">v1.0.0 (1a2b3c4)</p>', "1a2b3c4d" + "0" * 32, True),
    ('<p id="version">v1.0.0 (9999999)</p>', "1a2b3c4d" + "0" * 32, False),
    ("<p>no label</p>", "1a2b3c4", False),
], ids=["match", "other-commit", "no-label"])
def test_version_label(html, commit, ok):
    assert rollback.label_matches(rollback.version_label(html), commit) is ok


def test_commit_message_from_revision_summaries():
    assert rollback.commit_message({"revisionSummary": '{"CommitMessage": "a\\nb"}'}) == "a"
    assert rollback.commit_message({"revisionSummary": "plain text"}) == "plain text"
    assert rollback.commit_message({}) == ""
