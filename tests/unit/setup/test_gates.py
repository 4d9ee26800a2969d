"""Release gates: parameters -> V2 stage conditions, checked before any API call as AWS
documents them, drawn in the pipeline shape. Accepted by the local AWS and converged on re-run:
tests/integration/setup/test_gates.py."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import validate_parameters

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params
from runbook_lib.core.stage_conditions import stage_condition_problems
from runbook_lib.setup import gates, pipeline, pipeline_shape
from runbook_lib.views import plots

ALL_GATES = {"deploy_window_cron": "* * 9-16 ? * MON-THU *",
             "deploy_window_timezone": "Europe/Paris", "gate_alarm_wait_minutes": 10,
             "post_deploy_watch_minutes": 15, "build_retry_mode": "FAILED_ACTIONS",
             "staging_skip_variable": "DeployStaging"}


def _stages(**changes):
    params = Params(app_name="sample-app", **changes)
    declaration = pipeline.pipeline_definition(params, params.names())
    return declaration, {s["name"]: s for s in declaration["stages"]}


def test_defaults_declare_no_gate():
    declaration, stages = _stages()
    assert not any(block in stage for stage in stages.values()
                   for block in ("beforeEntry", "onSuccess"))
    assert "variables" not in declaration
    assert "onFailure" not in stages["Build"]


def test_every_gate_lands_on_its_stage_and_matches_the_api_model():
    declaration, stages = _stages(**ALL_GATES)
    production = stages["Deploy-production"]
    entry = production["beforeEntry"]["conditions"][0]
    assert entry["result"] == "FAIL"
    assert [r["ruleTypeId"]["provider"] for r in entry["rules"]] == ["DeploymentWindow",
                                                                     "CloudWatchAlarm"]
    assert entry["rules"][0]["configuration"] == {"Cron": "* * 9-16 ? * MON-THU *",
                                                  "TimeZone": "Europe/Paris"}
    assert entry["rules"][1]["configuration"] == {"AlarmName": "sample-app-production-errors",
                                                  "WaitTime": "10"}
    watch = production["onSuccess"]["conditions"][0]
    assert watch["result"] == "ROLLBACK"
    assert watch["rules"][0]["configuration"]["WaitTime"] == "15"
    assert production["onFailure"] == {"result": "ROLLBACK"}
    assert stages["Build"]["onFailure"] == {
        "result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}}
    skip = stages["Deploy-staging"]["beforeEntry"]["conditions"][0]
    assert skip["result"] == "SKIP"
    assert skip["rules"][0]["configuration"]["Variable"] == "#{variables.DeployStaging}"
    assert declaration["variables"][0]["name"] == "DeployStaging"
    model = botocore.session.get_session().get_service_model("codepipeline")
    validate_parameters({"pipeline": declaration},
                        model.operation_model("CreatePipeline").input_shape)


@pytest.mark.parametrize("field, value", [
    ("deploy_window_cron", "* 9-16 * * MON-FRI"),
    ("deploy_window_cron", "* * 25 ? * MON *"),
    ("deploy_window_cron", "* * 9 1 * MON *"),
    ("deploy_window_timezone", "Mars/Olympus"),
    ("gate_alarm_wait_minutes", -1),
    ("post_deploy_watch_minutes", 2000),
    ("build_retry_mode", "SOMETIMES"),
    ("staging_skip_variable", "deploy staging"),
], ids=lambda v: str(v))
def test_bad_gate_parameters_name_the_field(field, value):
    params = Params(app_name="sample-app", **{field: value})
    with pytest.raises(ParameterError) as err:
        pipeline.pipeline_definition(params, params.names())
    assert err.value.field == field


def test_no_rollback_watch_in_parallel_mode():
    params = Params(app_name="sample-app", execution_mode="PARALLEL", post_deploy_watch_minutes=5)
    with pytest.raises(ParameterError) as err:
        gates.validate_gate_params(params)
    assert err.value.field == "post_deploy_watch_minutes"


def _rule(provider, name="R"):
    return {"name": name, "ruleTypeId": {"category": "Rule", "owner": "AWS",
                                         "provider": provider, "version": "1"}}


def _block(result, *providers):
    return {"conditions": [{"result": result,
                            "rules": [_rule(p, f"R{i}") for i, p in enumerate(providers)]}]}


# (id, stage blocks, pipeline type, field named, words of the rule)
DOCUMENTED = [
    ("v1", {"beforeEntry": _block("FAIL", "VariableCheck")}, "V1",
     "beforeEntry", "V2 pipeline"),
    ("no-condition", {"beforeEntry": {"conditions": []}}, "V2",
     "beforeEntry.conditions", "exactly one condition"),
    ("two-conditions", {"onSuccess": {"conditions": [
        _block("ROLLBACK", "CloudWatchAlarm")["conditions"][0]] * 2}}, "V2",
     "onSuccess.conditions", "exactly one condition"),
    ("no-rule", {"beforeEntry": _block("FAIL")}, "V2", "rules", "1 to 5 rules"),
    ("six-rules", {"beforeEntry": _block("FAIL", *["VariableCheck"] * 6)}, "V2",
     "rules", "1 to 5 rules"),
    ("entry-rollback", {"beforeEntry": _block("ROLLBACK", "VariableCheck")}, "V2",
     "result", "FAIL or SKIP"),
    ("success-skip", {"onSuccess": _block("SKIP", "VariableCheck")}, "V2",
     "result", "ROLLBACK or FAIL"),
    ("skip-alarm", {"beforeEntry": _block("SKIP", "CloudWatchAlarm")}, "V2",
     "result", "VariableCheck or LambdaInvoke"),
    ("retry-and-conditions", {"onFailure": {"result": "RETRY",
                                            **_block("ROLLBACK", "VariableCheck")}}, "V2",
     "onFailure.conditions", "not combined"),
    ("retry-config-without-retry", {"onFailure": {
        "result": "ROLLBACK", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}}}, "V2",
     "retryConfiguration", "goes with result RETRY"),
    ("unknown-provider", {"beforeEntry": _block("FAIL", "Telepathy")}, "V2",
     "provider", "rule provider"),
]


@pytest.mark.parametrize("blocks, pipeline_type, field, words",
                         [row[1:] for row in DOCUMENTED], ids=[row[0] for row in DOCUMENTED])
def test_documented_rules_name_field_and_rule(blocks, pipeline_type, field, words):
    problems = stage_condition_problems({"name": "Deploy", **blocks}, pipeline_type)
    assert problems, "expected a problem"
    assert field in problems[0].field
    assert words in problems[0].rule
    declaration = {"pipelineType": pipeline_type, "stages": [{"name": "Deploy", **blocks}]}
    with pytest.raises(ParameterError) as err:
        gates.check_declaration(declaration)
    assert field in err.value.field


def test_valid_blocks_have_no_problem():
    stage = {"name": "Deploy", "beforeEntry": _block("SKIP", "VariableCheck", "LambdaInvoke"),
             "onSuccess": _block("FAIL", "CloudWatchAlarm"),
             "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}}}
    assert stage_condition_problems(stage, "V2") == []


def test_shape_lists_gates_for_the_drawing():
    declaration, _ = _stages(**ALL_GATES)
    shape = pipeline_shape.shape_from_declaration(declaration, deployed=False)
    gated = {s.name: s.gates for s in shape.stages}
    assert gated["Deploy-production"] == (
        "beforeEntry: DeploymentWindow, CloudWatchAlarm -> FAIL",
        "onSuccess: CloudWatchAlarm -> ROLLBACK")
    assert gated["Build"] == ("onFailure: automatic retry (FAILED_ACTIONS)",)
    labels = {b.label.split("\n")[0]: b.label for b in plots.layout_pipeline(shape)
              if b.kind == "stage"}
    assert labels["Deploy-production"].endswith("entry gate, post-deploy watch")
    assert labels["Build"] == "Build\nauto-retry"
