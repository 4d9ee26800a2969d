"""CodeBuild's housekeeping operations on the local AWS: caches, source credentials, curated
images, report groups and trends (real boto3 and the real AWS CLI over HTTP)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import aws_cli, run_inline_build

from runbook_lib.core.session import AwsSession

TOKEN = "ghp_local_test_token_never_kept_0123456789"
JUNIT = ('<testsuite name="s" tests="4"><testcase classname="a" name="one"/>'
         '<testcase classname="a" name="two"/><testcase classname="a" name="three"/>'
         '<testcase classname="a" name="four"><failure message="boom">x</failure></testcase>'
         '</testsuite>')


@pytest.fixture
def env(local_aws):
    return local_aws.credentials.environment(local_aws.endpoint_url)


def test_source_credentials_are_recorded_but_the_token_is_never_kept(session, env, local_aws):
    cb = session.client("codebuild")
    arn = aws_cli(env, "codebuild", "import-source-credentials", "--server-type", "GITLAB",
              "--auth-type", "PERSONAL_ACCESS_TOKEN", "--token", TOKEN)["arn"]
    infos = aws_cli(env, "codebuild", "list-source-credentials")["sourceCredentialsInfos"]
    assert {"arn": arn, "serverType": "GITLAB", "authType": "PERSONAL_ACCESS_TOKEN"} in infos
    with pytest.raises(ClientError) as caught:
        cb.import_source_credentials(serverType="GITLAB", authType="PERSONAL_ACCESS_TOKEN",
                                     token=TOKEN, shouldOverwrite=False)
    assert caught.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    stored = "".join(p.read_text(errors="replace") for p in local_aws.app.state_dir.rglob("*")
                     if p.is_file() and p.suffix == ".json")
    assert TOKEN not in stored
    assert cb.delete_source_credentials(arn=arn)["arn"] == arn
    with pytest.raises(ClientError) as caught:
        cb.delete_source_credentials(arn=arn)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_curated_environment_images(env):
    platforms = aws_cli(env, "codebuild", "list-curated-environment-images")["platforms"]
    images = [i["name"] for p in platforms for lang in p["languages"] for i in lang["images"]]
    assert "aws/codebuild/standard:7.0" in images


def test_invalidate_project_cache_empties_the_local_cache(session, local_aws, app_name):
    cb = session.client("codebuild")
    run_inline_build(session, f"{app_name}-cached", "version: 0.2\nphases:\n  build:\n"
                     "    commands:\n      - echo hi\n")
    cb.update_project(name=f"{app_name}-cached", cache={"type": "LOCAL",
                                                         "modes": ["LOCAL_CUSTOM_CACHE"]})
    folder = local_aws.app.state_dir / "cache" / "us-east-1" / f"{app_name}-cached"
    folder.mkdir(parents=True)
    (folder / "default.tar.gz").write_bytes(b"stale")
    cb.invalidate_project_cache(projectName=f"{app_name}-cached")
    assert not folder.exists()
    with pytest.raises(ClientError) as caught:
        cb.invalidate_project_cache(projectName=f"{app_name}-none")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_report_group_update_trend_and_delete(session: AwsSession, env, app_name):
    cb = session.client("codebuild")
    build = run_inline_build(session, f"{app_name}-rep", (
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - echo '{JUNIT}' > junit.xml\n"
        "reports:\n  unit:\n    files: [junit.xml]\n    file-format: JUNITXML\n"))
    report_arn = build["reportArns"][0]
    group_arn = cb.batch_get_reports(reportArns=[report_arn])["reports"][0]["reportGroupArn"]
    trend = aws_cli(env, "codebuild", "get-report-group-trend", "--report-group-arn", group_arn,
                "--trend-field", "PASS_RATE")
    assert trend["stats"] == {"average": "75", "max": "75", "min": "75"}
    assert trend["rawData"] == [{"reportArn": report_arn, "data": "75"}]
    total = cb.get_report_group_trend(reportGroupArn=group_arn, trendField="TOTAL")
    assert total["stats"]["max"] == "4"
    updated = cb.update_report_group(arn=group_arn, tags=[{"key": "team", "value": "blue"}])
    assert updated["reportGroup"]["tags"] == [{"key": "team", "value": "blue"}]
    cb.delete_report(arn=report_arn)
    assert cb.batch_get_reports(reportArns=[report_arn])["reportsNotFound"] == [report_arn]
    emptied = cb.get_report_group_trend(reportGroupArn=group_arn, trendField="TOTAL")
    assert (emptied["stats"], emptied["rawData"]) == ({}, [])  # (two calls' metadata differ)
    with pytest.raises(ClientError) as caught:
        cb.update_report_group(arn=group_arn + "-nope")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
