"""The release alarm: the CloudWatch alarm the pipeline's release gates watch.

The alarm gate keeps a deploy out of production while it fires, and the post-deploy watch rolls
production back when it fires after a deploy (see :mod:`.gates`). It watches an application
metric a bad release moves: the production error count the sample app reports
(``<app_name>/Releases``, ``Errors``, dimension ``Environment=<production>``), five or more in
a minute. Missing data counts as not breaching, so a quiet app never blocks a release.

On the local AWS, alarms do not evaluate metrics by themselves; ``aws cloudwatch
set-alarm-state`` flips one, which is how operators rehearse a blocked or rolled-back release.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, converge
from runbook_lib.core.session import AwsSession
from runbook_lib.core.tags import as_tag_list, from_tag_list, ownership_tags, require_owned
from runbook_lib.setup.gates import alarm_watched

METRIC_NAME = "Errors"
THRESHOLD = 5.0


def metric_namespace(params: Params) -> str:
    return f"{params.app_name}/Releases"


def alarm_definition(params: Params, names: ResourceNames) -> dict[str, Any]:
    """PutMetricAlarm's arguments (tags apart); pure, so diffed against DescribeAlarms."""
    return {
        "AlarmName": names.release_alarm,
        "AlarmDescription": f"Errors of {params.app_name} in {params.production_name}: the "
                            "release gates of the pipeline watch this alarm",
        "Namespace": metric_namespace(params),
        "MetricName": METRIC_NAME,
        "Dimensions": [{"Name": "Environment", "Value": params.production_name}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": THRESHOLD,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }


def plan_release_alarm(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """The alarm when a gate watches it; otherwise an empty plan that says how to ask."""
    if not alarm_watched(params):
        return Plan("release alarm not needed (gate_alarm_wait_minutes or "
                    "post_deploy_watch_minutes in 07 turn the gates that watch it on)")
    plan = Plan("release alarm")
    plan.add(_alarm_change(session, params, names))
    return plan


def _alarm_change(session: AwsSession, params: Params, names: ResourceNames) -> Change:
    cw = session.client("cloudwatch")
    desired = alarm_definition(params, names)
    resource = f"CloudWatch alarm {names.release_alarm}"
    current = _describe(cw, names.release_alarm)
    if current is not None:
        tags = cw.list_tags_for_resource(ResourceARN=current["AlarmArn"]).get("Tags")
        require_owned(resource, from_tag_list(tags), params.app_name)
        current = {key: current.get(key) for key in desired}
    return converge(resource, current, desired,
                    lambda: _put(cw, desired, params.app_name),
                    lambda: _put(cw, desired, params.app_name),
                    [f"{desired['Namespace']} {METRIC_NAME} >= {THRESHOLD:g} in a minute"])


def _describe(cw, name: str) -> dict[str, Any] | None:
    try:
        found = cw.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    except ClientError as err:
        raise StepError(f"describe alarm {name}: {err}") from err
    return found[0] if found else None


def _put(cw, definition: dict[str, Any], app_name: str) -> None:
    try:
        cw.put_metric_alarm(**definition, Tags=as_tag_list(ownership_tags(app_name)))
    except ClientError as err:
        raise StepError(f"put alarm {definition['AlarmName']}: {err}") from err


def teardown_target(session: AwsSession, names: ResourceNames
                    ) -> tuple[str, dict[str, str] | None, Callable[[], Any]]:
    """For the teardown: the resource's label, its tags (None when absent) and its delete."""
    cw = session.client("cloudwatch")
    current = _describe(cw, names.release_alarm)
    found = None
    if current is not None:
        found = from_tag_list(cw.list_tags_for_resource(
            ResourceARN=current["AlarmArn"]).get("Tags"))
    return (f"CloudWatch alarm {names.release_alarm}", found,
            lambda: cw.delete_alarms(AlarmNames=[names.release_alarm]))
