"""Triage over real failing build logs (tests/fixtures/triage_corpus, issue 16 item 5).

Each log was made by running a public project's own test suite, type checker, linter or
install step with one thing broken (index.yml says which project, commit and what), wrapped
in CodeBuild's agent lines. Triage must name the failing test, mark the first real error line
(not a header, a warning or the agent's own line), classify the failure and read the command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runbook_lib.operate import triage
from runbook_lib.operate.log_text import BuildLog
from runbook_lib.operate.triage_scan import LogScanner

CORPUS = Path(__file__).parents[2] / "fixtures" / "triage_corpus"
ENTRIES = yaml.safe_load((CORPUS / "index.yml").read_text())["logs"]


def _build(entry: dict) -> BuildLog:
    lines = (CORPUS / entry["log"]).read_text().splitlines()
    return BuildLog(entry["id"], "FAILED", "/aws/codebuild/corpus", entry["id"], lines,
                    entry["failed_phase"], entry["context"],
                    status_code="COMMAND_EXECUTION_ERROR")


def test_the_corpus_is_large_and_recorded():
    assert len(ENTRIES) >= 20
    for entry in ENTRIES:
        assert entry["repository"].startswith("https://github.com/") and entry["commit"]
        assert entry["broken"] and (CORPUS / entry["log"]).is_file()
    categories = {e["category"] for e in ENTRIES}
    assert {"test_failure", "command_not_found", "compile_error",
            "dependency_install"} <= categories


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_triage_finds_the_failing_test_and_the_first_real_error(entry):
    log = _build(entry)
    result = triage.triage_build(log)
    assert (result.command, result.exit_code) == (entry["command"], entry["exit_code"])
    assert result.category == entry["category"], result.title
    assert result.error_index is not None
    assert log.lines[result.error_index] == entry["error_line"]
    if entry["failing_test"]:
        assert result.failing_tests and result.failing_tests[0] == entry["failing_test"]
        if entry["category"] == "test_failure":
            assert entry["failing_test"] in result.detail
    else:
        assert result.failing_tests == []


@pytest.mark.parametrize("page", [1, 3, 64])
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_small_pages_find_the_same_error_line(entry, page):
    """Read page by page (as a long log is), a header and its error line may sit on two
    pages: the error line found is the same."""
    log = _build(entry)
    scanner = LogScanner(3)
    for start in range(0, len(log.lines), page):
        scanner.feed(log.lines[start:start + page])
    scan = scanner.result()
    assert log.lines[scan.error.index] == entry["error_line"]
    if entry["failing_test"] and page >= 64 and "mocha" not in entry["id"]:
        assert scan.failing_tests[0] == entry["failing_test"]
