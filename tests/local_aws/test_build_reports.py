"""A buildspec's ``reports`` become CodeBuild test and coverage reports on the local AWS,
read back with boto3's own paginators, as triage and the console read them."""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError
from helpers import run_inline_build

JUNIT = ('<testsuites><testsuite name="calc" tests="3">'
         '<testcase classname="tests.test_calc" name="test_add" time="0.5"/>'
         '<testcase classname="tests.test_calc" name="test_div" time="0.25">'
         '<failure message="ZeroDivisionError: division by zero">Traceback...</failure>'
         '</testcase><testcase classname="tests.test_calc" name="test_later">'
         '<skipped/></testcase></testsuite></testsuites>')
COBERTURA = ('<coverage line-rate="0.75" lines-covered="3" lines-valid="4" '
             'branches-covered="1" branches-valid="2"/>')


def _buildspec(pre_build_fails: bool = False) -> str:
    write = (f"      - mkdir -p reports && echo {_b64(JUNIT)} | base64 -d > reports/junit.xml\n"
             f"      - echo {_b64(COBERTURA)} | base64 -d > coverage.xml\n")
    phase = "pre_build" if pre_build_fails else "build"
    return (f"version: 0.2\nphases:\n  {phase}:\n    commands:\n{write}"
            + ("      - exit 1\n" if pre_build_fails else "")
            + "reports:\n  unit:\n    files:\n      - '**/*.xml'\n    base-directory: reports\n"
            "    file-format: JunitXml\n  coverage:\n    files: coverage.xml\n"
            "    file-format: COBERTURAXML\n  nothing:\n    files: none/*.xml\n")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()




def _paginate(client, operation: str, key: str, **kwargs) -> list:
    return [item for page in client.get_paginator(operation).paginate(**kwargs)
            for item in page[key]]


def test_reports_are_made_and_served_in_botocores_shapes(session, app_name):
    cb = session.client("codebuild")
    build = run_inline_build(session, app_name, _buildspec())
    assert build["buildStatus"] == "SUCCEEDED"
    assert len(build["reportArns"]) == 2  # 'nothing' matched no file: no report
    groups = _paginate(cb, "list_report_groups", "reportGroups")
    unit_arn = next(a for a in groups if a.endswith(f":report-group/{app_name}-unit"))
    group = cb.batch_get_report_groups(reportGroupArns=[unit_arn])["reportGroups"][0]
    assert (group["name"], group["type"], group["status"]) == (f"{app_name}-unit", "TEST",
                                                                "ACTIVE")
    report_arns = _paginate(cb, "list_reports_for_report_group", "reports",
                            reportGroupArn=unit_arn)
    assert report_arns == [build["reportArns"][0]]
    report = cb.batch_get_reports(reportArns=report_arns)["reports"][0]
    assert report["status"] == "FAILED" and report["executionId"] == build["arn"]
    assert report["testSummary"]["total"] == 3
    assert report["testSummary"]["statusCounts"] == {"SUCCEEDED": 1, "FAILED": 1, "SKIPPED": 1}
    failed = _paginate(cb, "describe_test_cases", "testCases", reportArn=report["arn"],
                       filter={"status": "FAILED"})
    assert [(c["testSuiteName"], c["prefix"], c["name"]) for c in failed] == [
        ("calc", "tests.test_calc", "test_div")]
    assert failed[0]["message"].startswith("ZeroDivisionError: division by zero")
    assert failed[0]["testRawDataPath"] == "junit.xml"
    assert failed[0]["durationInNanoSeconds"] == 250_000_000


def test_coverage_report_summary(session, app_name):
    cb = session.client("codebuild")
    build = run_inline_build(session, app_name, _buildspec())
    report = cb.batch_get_reports(reportArns=[build["reportArns"][1]])["reports"][0]
    assert report["type"] == "CODE_COVERAGE" and report["status"] == "SUCCEEDED"
    assert report["codeCoverageSummary"] == {
        "lineCoveragePercentage": 75.0, "linesCovered": 3, "linesMissed": 1,
        "branchCoveragePercentage": 50.0, "branchesCovered": 1, "branchesMissed": 1}


def test_a_failed_pre_build_still_reports_its_tests(session, app_name):
    cb = session.client("codebuild")
    build = run_inline_build(session, app_name, _buildspec(pre_build_fails=True))
    assert build["buildStatus"] == "FAILED"
    assert "UPLOAD_ARTIFACTS" not in [p["phaseType"] for p in build["phases"]]
    report = cb.batch_get_reports(reportArns=build["reportArns"][:1])["reports"][0]
    assert report["testSummary"]["statusCounts"]["FAILED"] == 1


def test_pages_follow_next_token(session, app_name):
    cb = session.client("codebuild")
    build = run_inline_build(session, app_name, _buildspec())
    pages = list(cb.get_paginator("describe_test_cases").paginate(
        reportArn=build["reportArns"][0], PaginationConfig={"PageSize": 1}))
    assert [len(p["testCases"]) for p in pages] == [1, 1, 1]


def test_create_report_group_and_errors(session, app_name):
    cb = session.client("codebuild")
    created = cb.create_report_group(name=f"{app_name}-it", type="TEST",
                                     exportConfig={"exportConfigType": "NO_EXPORT"})
    arn = created["reportGroup"]["arn"]
    with pytest.raises(ClientError) as err:
        cb.create_report_group(name=f"{app_name}-it", type="TEST",
                               exportConfig={"exportConfigType": "NO_EXPORT"})
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as err:
        cb.list_reports_for_report_group(reportGroupArn=arn + "-missing")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    missing = cb.batch_get_report_groups(reportGroupArns=[arn, arn + "x"])
    assert [g["arn"] for g in missing["reportGroups"]] == [arn]
    assert missing["reportGroupsNotFound"] == [arn + "x"]
    cb.delete_report_group(arn=arn)
    assert arn not in _paginate(cb, "list_report_groups", "reportGroups")


def test_secret_values_are_masked_in_test_messages(session, app_name):
    sm, cb = session.client("secretsmanager"), session.client("codebuild")
    sm.create_secret(Name=f"{app_name}/api", SecretString="tok-secret-4242")
    junit = ('<testsuite name="api"><testcase classname="t" name="login">'
             '<failure message="401 with token TOKEN_HERE"/></testcase></testsuite>')
    buildspec = (
        f"version: 0.2\nenv:\n  secrets-manager:\n    API_TOKEN: {app_name}/api\n"
        "phases:\n  build:\n    commands:\n"
        f"      - echo {_b64(junit)} | base64 -d | sed \"s/TOKEN_HERE/$API_TOKEN/\" > j.xml\n"
        "reports:\n  unit:\n    files: j.xml\n")
    build = run_inline_build(session, app_name, buildspec)
    cases = _paginate(cb, "describe_test_cases", "testCases", reportArn=build["reportArns"][0])
    assert cases[0]["message"] == "401 with token ***"
