"""The CodeBuild operations operators and tools call, answered over populated state in AWS's
output shapes (the census only sees them with made-up names, so mostly empty).

Each answer is checked with the census's shape checker (required members present, each value
of its shape's type) and for the members AWS always returns for a report group and a report.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import run_inline_build

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import census  # noqa: E402
from test_build_reports import _buildspec  # noqa: E402

GROUP_MEMBERS = {"arn", "name", "type", "exportConfig", "created", "lastModified", "tags",
                 "status"}
REPORT_MEMBERS = {"arn", "type", "name", "reportGroupArn", "executionId", "status", "created",
                  "exportConfig", "truncated"}


def _shaped(cb, method: str, **kwargs) -> dict:
    answer = getattr(cb, method)(**kwargs)
    operation = cb.meta.service_model.operation_model(cb.meta.method_to_api_mapping[method])
    assert census.check_shape(operation.output_shape, answer, operation.name) == []
    return answer


@pytest.fixture
def built(session, app_name):
    build = run_inline_build(session, app_name, _buildspec())
    assert len(build["reportArns"]) == 2
    return build


def test_reports_and_groups_are_complete(session, app_name, built):
    cb = session.client("codebuild")
    reports = _shaped(cb, "batch_get_reports", reportArns=built["reportArns"])["reports"]
    assert {r["type"] for r in reports} == {"TEST", "CODE_COVERAGE"}
    for report in reports:
        assert REPORT_MEMBERS <= set(report), REPORT_MEMBERS - set(report)
    assert "testSummary" in reports[0] and "codeCoverageSummary" in reports[1]
    arns = [r["reportGroupArn"] for r in reports]
    groups = _shaped(cb, "batch_get_report_groups", reportGroupArns=arns)["reportGroups"]
    for group in groups:
        assert GROUP_MEMBERS <= set(group), GROUP_MEMBERS - set(group)
    _shaped(cb, "describe_test_cases", reportArn=built["reportArns"][0])
    _shaped(cb, "describe_code_coverages", reportArn=built["reportArns"][1])
    _shaped(cb, "get_report_group_trend", reportGroupArn=arns[0], trendField="PASS_RATE")
    _shaped(cb, "update_report_group", arn=arns[0], tags=[{"key": "team", "value": "a"}])
    _shaped(cb, "list_reports_for_report_group", reportGroupArn=arns[0])
    _shaped(cb, "delete_report", arn=built["reportArns"][0])
    _shaped(cb, "delete_report_group", arn=arns[0], deleteReports=True)


def test_housekeeping_answers_in_shape(session, app_name, built):
    cb = session.client("codebuild")
    images = _shaped(cb, "list_curated_environment_images")["platforms"]
    assert images and all(p["languages"] for p in images)
    _shaped(cb, "import_source_credentials", token="not-kept", serverType="GITHUB",
            authType="PERSONAL_ACCESS_TOKEN", shouldOverwrite=True)
    infos = _shaped(cb, "list_source_credentials")["sourceCredentialsInfos"]
    assert [i["serverType"] for i in infos if i["serverType"] == "GITHUB"] == ["GITHUB"]
    assert "not-kept" not in str(infos)
    _shaped(cb, "invalidate_project_cache", projectName=app_name)
    retried = _shaped(cb, "retry_build", id=built["id"])["build"]
    assert retried["projectName"] == app_name and retried["id"] != built["id"]
    _shaped(cb, "batch_get_builds", ids=[built["id"], retried["id"]])
    _shaped(cb, "batch_get_projects", names=[app_name])
