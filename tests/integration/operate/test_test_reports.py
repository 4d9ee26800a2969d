"""Triage reads a build's test reports first: counts and failing tests (suite, test,
message, file), paginated; a build without reports falls back to the log."""

from __future__ import annotations

import base64

from helpers import wait_for_build

from runbook_lib.operate import test_reports, triage
from runbook_lib.operate.log_text import BuildLog

ROLE = "arn:aws:iam::123456789012:role/build-role"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
               "computeType": "BUILD_GENERAL1_SMALL"}


def _junit(failures: int) -> str:
    cases = "".join(f'<testcase classname="tests.test_api" name="test_{i}" time="0.1">'
                    f'<failure message="AssertionError: case {i}">trace</failure></testcase>'
                    for i in range(failures))
    return (f'<testsuite name="api">{cases}<testcase classname="tests.test_api" '
            'name="test_ok"/><testcase classname="tests.test_api" name="test_skip">'
            '<skipped/></testcase></testsuite>')


def _build(session, name: str, failures: int | None) -> str:
    commands = "      - echo FAILED tests/from_the_log.py::test_guess\n"
    reports = ""
    if failures is not None:
        data = base64.b64encode(_junit(failures).encode()).decode()
        commands += f"      - echo {data} | base64 -d > junit.xml\n"
        reports = "reports:\n  pytest:\n    files: junit.xml\n"
    cb = session.client("codebuild")
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": (
        f"version: 0.2\nphases:\n  build:\n    commands:\n{commands}      - exit 1\n{reports}")},
        artifacts={"type": "NO_ARTIFACTS"}, environment=dict(ENVIRONMENT), serviceRole=ROLE)
    build_id = cb.start_build(projectName=name)["build"]["id"]
    wait_for_build(cb, build_id)
    return build_id


def test_failing_tests_come_from_the_report(session, app_name):
    build_id = _build(session, app_name, failures=2)
    reports = test_reports.read_test_reports(session, build_id)
    assert reports.found and reports.counts == (4, 1, 2, 1)
    assert reports.render() == "1 passed, 2 failed, 1 skipped (of 4, from 1 test report)"
    assert reports.rows() == [("api", "tests.test_api.test_0", "AssertionError: case 0",
                               "junit.xml"),
                              ("api", "tests.test_api.test_1", "AssertionError: case 1",
                               "junit.xml")]
    assert reports.failing[0].report == f"{app_name}-pytest"


def test_failing_tests_are_read_page_by_page_and_capped(session, app_name):
    build_id = _build(session, app_name, failures=120)
    reports = test_reports.read_test_reports(session, build_id, max_failing=110)
    assert len(reports.failing) == 110  # more than one DescribeTestCases page of 100
    assert reports.counts[2] == 120


def test_triage_prefers_the_report_over_the_log(session, app_name):
    build_id = _build(session, app_name, failures=1)
    log = BuildLog(build_id, "FAILED", "g", "s",
                   lines=["FAILED tests/from_the_log.py::test_guess - boom"])
    assert triage.triage_build(log).failing_tests == ["tests/from_the_log.py::test_guess"]
    reports = test_reports.read_test_reports(session, build_id)
    assert triage.triage_build(log, reports=reports).failing_tests == [
        "api: tests.test_api.test_0"]


def test_without_reports_the_log_is_the_fallback(session, app_name):
    build_id = _build(session, app_name, failures=None)
    reports = test_reports.read_test_reports(session, build_id)
    assert not reports.found
    assert reports.rows() == [("-", "-", "no test report", "-")]
    assert test_reports.failing_tests_or(session, build_id, ["from log"]) == ["from log"]
