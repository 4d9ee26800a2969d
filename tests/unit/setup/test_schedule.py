"""The report schedule's least-privilege roles and buildspec. The plan on the local AWS:
tests/integration/setup/test_schedule.py."""

from __future__ import annotations

from runbook_lib.buildspec import validate as buildspec
from runbook_lib.setup import iam, schedule


def test_scheduler_role_starts_only_the_report_project(params, names):
    report = schedule.ReportNames.derive(params, names)
    _, scheduler = schedule.role_specs(names, report)
    assert scheduler.permissions["Statement"] == [{
        "Sid": "StartReportBuild", "Effect": "Allow", "Action": ["codebuild:StartBuild"],
        "Resource": [names.arn("codebuild", f"project/{report.project}")]}]
    trust = scheduler.trust["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == names.account_id
    assert trust["Condition"]["StringEquals"]["aws:SourceArn"].endswith(
        f":schedule-group/{report.schedule_group}")


def test_report_role_is_scoped(params, names):
    report = schedule.ReportNames.derive(params, names)
    project_role, _ = schedule.role_specs(names, report)
    by_sid = {s["Sid"]: s for s in project_role.permissions["Statement"]}
    # GetObject: the presigned link readers get is signed with the build's credentials.
    assert by_sid["PutReports"]["Action"] == ["s3:PutObject", "s3:GetObject"]
    assert by_sid["GetPackage"]["Resource"] == [
        f"{names.artifact_bucket_arn}/runbook-package/*"]
    assert by_sid["TellReaders"] == {"Sid": "TellReaders", "Effect": "Allow",
                                     "Action": ["sns:Publish"],
                                     "Resource": [names.topic_arn(report.topic)]}
    assert by_sid["PutReports"]["Resource"] == [
        f"{names.artifact_bucket_arn}/reports/{names.pipeline}/*"]
    assert by_sid["ReadPipeline"]["Resource"] == [names.pipeline_arn]
    assert all(not a.startswith("codepipeline:") or a.split(":")[1].startswith(("Get", "List"))
               for s in project_role.permissions["Statement"] for a in s["Action"])
    assert all("*" != r for s in project_role.permissions["Statement"] for r in s["Resource"])
    assert iam.policy_breadth(project_role.permissions).wildcard_resources == 0


def test_buildspec_is_valid_and_runs_the_report(names, params):
    report = schedule.ReportNames.derive(params, names)
    text = schedule.report_buildspec(names, report)
    parsed = buildspec.parse_buildspec(text)
    assert parsed is not None
    assert "runbook_lib.app.cli report --target aws" in text
    assert '--notify "$REPORT_TOPIC"' in text and "--target .runbook" in text
    assert f"s3://{names.artifact_bucket}/reports/{names.pipeline}/" in text
