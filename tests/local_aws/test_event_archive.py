"""The event archive step on the local AWS: plan/apply/converge, ownership, the real event path
(rule -> Firehose -> S3, gzipped JSON lines under events/year=/month=/day=/) and teardown."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from helpers import assert_converged, drop_archive_rule, run_inline_build, wait_until

from runbook_lib.core.errors import NotOwnedError
from runbook_lib.setup import bucket, event_archive, teardown
from runbook_lib.setup.event_archive_spec import ArchiveNames

KEY = re.compile(r"^events/year=\d{4}/month=\d{2}/day=\d{2}/[\w-]+-event-archive-\d+-"
                 r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]+\.gz$")


@pytest.fixture(autouse=True)
def _no_archive_rule_left(session, app_name):
    yield
    drop_archive_rule(session, app_name)


@pytest.fixture
def archive(session, params, names) -> ArchiveNames:
    bucket.plan_artifact_bucket(session, params, names).apply()
    event_archive.plan_event_archive(session, params, names).apply()
    return ArchiveNames.derive(names, params)


def _archived(session, archive) -> list[dict]:
    s3 = session.client("s3")
    events = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=archive.bucket,
                                                             Prefix="events/"):
        for obj in page.get("Contents", []):
            assert KEY.match(obj["Key"]), obj["Key"]
            body = gzip.decompress(s3.get_object(Bucket=archive.bucket,
                                                 Key=obj["Key"])["Body"].read())
            assert body.endswith(b"\n")
            events.extend(json.loads(line) for line in body.splitlines())
    return events


def test_plan_creates_everything_then_converges(session, params, names):
    bucket.plan_artifact_bucket(session, params, names).apply()
    plan = event_archive.plan_event_archive(session, params, names)
    assert plan.counts()["create"] == len(plan.changes) == 10, plan.render()
    plan.apply()
    assert_converged(session, lambda: event_archive.plan_event_archive(session, params, names))
    archive = ArchiveNames.derive(names, params)
    table = session.client("glue").get_table(DatabaseName=archive.database,
                                             Name=archive.table)["Table"]
    assert table["Parameters"]["projection.enabled"] == "true"
    group = session.client("athena").get_work_group(WorkGroup=archive.workgroup)["WorkGroup"]
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == 10 * 1024**3


def test_a_stream_of_the_same_name_not_ours_is_refused(session, params, names):
    archive = ArchiveNames.derive(names, params)
    session.client("firehose").create_delivery_stream(
        DeliveryStreamName=archive.stream, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": names.role_arn("x"),
                                            "BucketARN": names.bucket_arn("elsewhere")})
    with pytest.raises(NotOwnedError):
        event_archive.plan_event_archive(session, params, names)


def test_build_events_reach_the_archive_through_rule_and_firehose(session, local_aws, archive,
                                                                  app_name):
    build = run_inline_build(session, f"{app_name}-b",
                             "version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\n")
    events = wait_until(lambda: [e for e in _archived(session, archive)
                                 if e["detail"].get("build-id") == build["arn"]],
                        lambda found: any(e["detail"]["build-status"] == "SUCCEEDED"
                                          for e in found), timeout=30)
    assert {e["detail-type"] for e in events} == {"CodeBuild Build State Change"}
    assert all(e["source"] == "aws.codebuild" for e in events)


def test_teardown_deletes_the_archive_and_a_second_teardown_changes_nothing(session, params,
                                                                            names, archive):
    teardown.plan_teardown(session, params, names).apply()
    again = teardown.plan_teardown(session, params, names)
    assert not again.has_changes, again.render()
    with pytest.raises(session.client("firehose").exceptions.ResourceNotFoundException):
        session.client("firehose").describe_delivery_stream(DeliveryStreamName=archive.stream)


def test_notebook_08b_plans_applies_and_backfills(session, local_aws, params, names, tmp_path):
    """The suite's notebook, run headless as `runbook run --only event-archive` runs it."""
    from runbook_lib.app import runner

    bucket.plan_artifact_bucket(session, params, names).apply()
    result = runner.run_suite(["event-archive"], {"app_name": params.app_name, "apply": True},
                              "local", tmp_path)
    assert result.ok, [n.error for n in result.notebooks]
    text = (tmp_path / "08b_event_archive.ipynb").read_text()
    assert "applied: event archive" in text
    assert "no such pipeline, nothing to backfill" in text  # this app made no pipeline
    assert_converged(session, lambda: event_archive.plan_event_archive(session, params, names))
