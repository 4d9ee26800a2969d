"""Release gates: the V2 stage conditions the suite's pipeline declares, from parameters.

A production deploy in 2026 is guarded by CodePipeline itself, not by a person watching a
dashboard. Each gate answers one risk, and each is off until its parameter is set:

- ``deploy_window_cron`` (+ ``deploy_window_timezone``): production is entered only inside a
  deployment window (``beforeEntry``, DeploymentWindow rule, FAIL): no Friday-night releases.
- ``gate_alarm_wait_minutes``: production is not entered while the release alarm fires
  (``beforeEntry``, CloudWatchAlarm, FAIL): never deploy on top of an incident. The gate waits
  that long for the alarm to clear before it fails the run.
- ``post_deploy_watch_minutes``: after the production deploy, the alarm is watched that long
  (``onSuccess``, CloudWatchAlarm with ``WaitTime``, ROLLBACK): a release that moves the error
  rate is rolled back to the last good one without anyone paging.
- ``build_retry_mode``: a failed build is retried once automatically (``onFailure`` RETRY with
  ``retryConfiguration``): a flaky network fetch does not stop a release.
- ``staging_skip_variable``: a run started with that pipeline variable set to ``false`` skips
  staging (``beforeEntry``, VariableCheck, SKIP): the documented hotfix path.

The declaration is checked against AWS's documented rules (:mod:`runbook_lib.core.
stage_conditions`) before any API call, so a mistake names the field and the rule.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runbook_lib.core.aws_cron import CronError, parse_cron
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.stage_conditions import RETRY_MODES, stage_condition_problems

BUILD_STAGE = "Build"


def validate_gate_params(params: Params) -> None:
    """Refuse gate parameters AWS would refuse, naming the field, the rule and an example."""
    if params.deploy_window_cron:
        try:
            parse_cron(params.deploy_window_cron)
        except CronError as err:
            raise ParameterError("deploy_window_cron", params.deploy_window_cron, str(err),
                                 "* * 9-16 ? * MON-THU *") from err
    try:
        ZoneInfo(params.deploy_window_timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ParameterError("deploy_window_timezone", params.deploy_window_timezone,
                             "must be an IANA time zone name", "Europe/Paris") from err
    for field in ("gate_alarm_wait_minutes", "post_deploy_watch_minutes"):
        value = getattr(params, field)
        if not isinstance(value, int) or not 0 <= value <= 1440:
            raise ParameterError(field, value, "must be 0 (off) to 1440 minutes", "15")
    if params.build_retry_mode not in ("", *RETRY_MODES):
        raise ParameterError("build_retry_mode", params.build_retry_mode,
                             f"must be empty (off) or one of {', '.join(RETRY_MODES)}",
                             "FAILED_ACTIONS")
    if params.execution_mode == "PARALLEL" and params.post_deploy_watch_minutes:
        raise ParameterError("post_deploy_watch_minutes", params.post_deploy_watch_minutes,
                             "a rollback needs SUPERSEDED or QUEUED mode (AWS offers no stage "
                             "rollback in PARALLEL mode)", "0")
    variable = params.staging_skip_variable
    if variable and not (variable.replace("_", "").isalnum() and len(variable) <= 128):
        raise ParameterError("staging_skip_variable", variable,
                             "must be a pipeline variable name: letters, digits, _",
                             "DeployStaging")


def gates_on(params: Params) -> bool:
    """Does the pipeline declare any gate (and so need the release alarm or a variable)?"""
    return bool(params.deploy_window_cron or params.gate_alarm_wait_minutes
                or params.post_deploy_watch_minutes or params.build_retry_mode
                or params.staging_skip_variable)


def alarm_watched(params: Params) -> bool:
    """Do the gates watch the release alarm (so monitoring must create it)?"""
    return bool(params.gate_alarm_wait_minutes or params.post_deploy_watch_minutes)


def stage_gates(params: Params, names: ResourceNames) -> dict[str, dict[str, Any]]:
    """Condition blocks by stage name, to merge into the stage declarations."""
    production = f"Deploy-{params.production_name}"
    gates: dict[str, dict[str, Any]] = {}
    entry_rules = []
    if params.deploy_window_cron:
        entry_rules.append(_rule("DeploymentWindow", "DeploymentWindow",
                                 Cron=params.deploy_window_cron,
                                 TimeZone=params.deploy_window_timezone or "UTC"))
    if params.gate_alarm_wait_minutes:
        entry_rules.append(_rule("AlarmQuiet", "CloudWatchAlarm", AlarmName=names.release_alarm,
                                 WaitTime=str(params.gate_alarm_wait_minutes)))
    if entry_rules:
        gates.setdefault(production, {})["beforeEntry"] = _condition("FAIL", entry_rules)
    if params.post_deploy_watch_minutes:
        watch = _rule("PostDeployWatch", "CloudWatchAlarm", AlarmName=names.release_alarm,
                      WaitTime=str(params.post_deploy_watch_minutes))
        gates.setdefault(production, {})["onSuccess"] = _condition("ROLLBACK", [watch])
    if params.build_retry_mode:
        gates[BUILD_STAGE] = {"onFailure": {
            "result": "RETRY", "retryConfiguration": {"retryMode": params.build_retry_mode}}}
    if params.staging_skip_variable:
        check = _rule("StagingWanted", "VariableCheck",
                      Variable=f"#{{variables.{params.staging_skip_variable}}}",
                      Value="true", Operator="EQ")
        gates[f"Deploy-{params.staging_name}"] = {"beforeEntry": _condition("SKIP", [check])}
    return gates


def pipeline_variables(params: Params) -> list[dict[str, str]]:
    """Pipeline-level variables the gates read (the staging switch defaults to deploying)."""
    if not params.staging_skip_variable:
        return []
    return [{"name": params.staging_skip_variable, "defaultValue": "true",
             "description": "false skips staging (hotfix path)"}]


def check_declaration(declaration: dict[str, Any]) -> None:
    """AWS's condition rules on a whole declaration; the first problem is a ParameterError."""
    for index, stage in enumerate(declaration.get("stages", [])):
        problems = stage_condition_problems(stage, declaration.get("pipelineType", "V1"),
                                            f"stages[{index}]({stage.get('name')})")
        if problems:
            first = problems[0]
            raise ParameterError(first.field, first.value, first.rule, first.fix)


def _rule(name: str, provider: str, **configuration: str) -> dict[str, Any]:
    return {"name": name, "ruleTypeId": {"category": "Rule", "owner": "AWS",
                                         "provider": provider, "version": "1"},
            "configuration": configuration}


def _condition(result: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"conditions": [{"result": result, "rules": rules}]}
