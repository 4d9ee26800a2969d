"""CloudWatchAlarm: a stage gate on an alarm of the local CloudWatch.

Rule reference: ``AlarmName`` (required), ``AlarmStates`` (the states that fail the rule,
ALARM by default), ``WaitTime`` (minutes to allow a state change before the result engages).
Reading used here (the reference is terse, so this is an unverified reading):
- beforeEntry / onFailure: the rule passes once the alarm is outside ``AlarmStates``; while it
  is inside, the rule waits up to ``WaitTime`` for it to change, then fails.
- onSuccess (a post-deploy watch): the rule watches the alarm for the whole ``WaitTime`` and
  fails as soon as the alarm enters ``AlarmStates``; it passes when the watch ends quietly.
``aws cloudwatch set-alarm-state`` flips an alarm, so operators can rehearse both.
"""

from __future__ import annotations

import time

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.local.codepipeline.rules import (
    RuleContext,
    RuleOutcome,
    minute_seconds,
    register_rule,
)

_POLL_SECONDS = 0.5


@register_rule("CloudWatchAlarm")
class CloudWatchAlarmRule:
    PROPERTIES = (
        ("AlarmName", True, "The CloudWatch alarm to check"),
        ("AlarmStates", False, "Alarm states that fail the rule (default ALARM)"),
        ("WaitTime", False, "Minutes to allow a state change before the result engages"),
    )

    def run(self, ctx: RuleContext) -> RuleOutcome:
        name = ctx.configuration.get("AlarmName", "")
        failing = {s.strip() for s in ctx.configuration.get("AlarmStates", "ALARM").split(",")
                   if s.strip()}
        try:
            wait_minutes = float(ctx.configuration.get("WaitTime") or 0)
        except ValueError:
            return RuleOutcome("Failed", f"WaitTime {ctx.configuration['WaitTime']!r} is not a "
                               "number of minutes", error_code="InvalidConfiguration")
        deadline = time.monotonic() + wait_minutes * minute_seconds()
        watching = ctx.block == "onSuccess"
        while True:
            state = _alarm_state(ctx, name)
            if state is None:
                return RuleOutcome("Failed", f"Alarm {name} does not exist in {ctx.region}; "
                                   "create it (notebook 08) or fix AlarmName",
                                   error_code="AlarmNotFound")
            firing = state in failing
            if firing and (watching or time.monotonic() >= deadline):
                return RuleOutcome("Failed", f"Alarm {name} is {state}", external_execution_id=name)
            if not firing and not watching:
                return RuleOutcome("Succeeded", f"Alarm {name} is {state}",
                                   external_execution_id=name)
            if watching and time.monotonic() >= deadline:
                return RuleOutcome("Succeeded", f"Alarm {name} stayed {state} for "
                                   f"{wait_minutes:g} minute(s)", external_execution_id=name)
            ctx.progress(f"Alarm {name} is {state}; " + (
                f"watching for {wait_minutes:g} minute(s)" if watching
                else f"waiting up to {wait_minutes:g} minute(s) for it to change"))
            if ctx.wait(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic()))):
                return RuleOutcome("Failed", "cancelled", error_code="Cancelled")


def _alarm_state(ctx: RuleContext, name: str) -> str | None:
    try:
        answer = ctx.aws.client("cloudwatch", ctx.region).describe_alarms(AlarmNames=[name])
    except (ClientError, BotoCoreError):
        return None
    alarms = answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
    return alarms[0]["StateValue"] if alarms else None
