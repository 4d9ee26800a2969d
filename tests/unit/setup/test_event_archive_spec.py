"""The event archive's documents: what the rule matches, where Firehose writes, what the
table projects, and roles that each allow one thing (parliament finds nothing to report)."""

from __future__ import annotations

import json

from parliament import analyze_policy_string

from runbook_lib.core.params import Params
from runbook_lib.setup import event_archive_spec as spec

PARAMS = Params(app_name="sample-app")
NAMES = PARAMS.names()
ARCHIVE = spec.ArchiveNames.derive(NAMES, PARAMS)


def test_the_rule_takes_every_pipeline_of_the_account_not_only_this_apps():
    pattern = spec.archive_pattern()
    assert "detail" not in pattern  # no pipeline filter
    assert set(pattern["source"]) == {"aws.codepipeline", "aws.codebuild"}


def test_the_table_projects_the_folders_firehose_writes():
    table = spec.table_input(ARCHIVE)
    template = table["Parameters"]["storage.location.template"]
    prefix = spec.stream_destination(NAMES, ARCHIVE)["Prefix"]
    assert template == f"s3://{NAMES.artifact_bucket}/events/year=${{year}}/month=${{month}}/" \
                       "day=${day}/"
    assert prefix == "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    assert table["Parameters"]["projection.month.digits"] == "2"


def test_each_role_passes_parliament_and_reaches_only_its_resource():
    for role in spec.role_specs(NAMES, ARCHIVE):
        findings = analyze_policy_string(json.dumps(role.permissions)).findings
        assert findings == [], (role.name, [f"{f.issue}: {f.detail}" for f in findings])
        resources = [r for s in role.permissions["Statement"] for r in s["Resource"]]
        assert all("*" not in r or r.endswith("/events/*") or r.endswith("/events-errors/*")
                   for r in resources), resources
        condition = role.trust["Statement"][0]["Condition"]["StringEquals"]
        assert condition["aws:SourceAccount"] == NAMES.account_id


def test_the_workgroup_caps_every_query():
    config = spec.workgroup_configuration(ARCHIVE)
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    assert config["ResultConfiguration"]["OutputLocation"].endswith("/athena-results/")
