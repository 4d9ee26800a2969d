"""The sample event a failure notification rule is proved against has AWS's shape. The rule
proved on the local AWS: tests/integration/setup/test_monitoring.py."""

import pytest

from runbook_lib.setup import rule_proof


@pytest.mark.parametrize(
    "kind, detail_type, has_stage",
    [
        ("pipeline", "CodePipeline Pipeline Execution State Change", False),
        ("stage", "CodePipeline Stage Execution State Change", True),
    ],
)
def test_sample_event_has_aws_shape(params, names, kind, detail_type, has_stage):
    event = rule_proof.sample_event(params, names, kind, "FAILED")
    for field in ("version", "id", "detail-type", "source", "account", "time", "region",
                  "resources", "detail"):
        assert field in event
    assert event["detail-type"] == detail_type
    assert event["source"] == "aws.codepipeline"
    assert event["resources"] == [names.pipeline_arn]
    assert {"pipeline", "execution-id", "state", "version"} <= set(event["detail"])
    assert ("stage" in event["detail"]) is has_stage


def test_sample_event_rejects_unknown_kind(params, names):
    with pytest.raises(ValueError):
        rule_proof.sample_event(params, names, "action", "FAILED")
