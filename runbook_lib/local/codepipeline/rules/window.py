"""DeploymentWindow: a stage is entered only inside a cron window, in a time zone.

Rule reference: ``Cron`` (required, AWS's cron) and ``TimeZone`` (optional, default UTC). The
reference's note on combining it with CloudWatchAlarm ("after the deployment window opens,
CodePipeline does not check the alarm again") says the rule waits for the window to open; it
does here too, reporting the next opening, until the window opens, the rule's
``timeoutInMinutes`` passes, or an operator overrides the condition.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runbook_lib.core.aws_cron import CronError, parse_cron
from runbook_lib.local.codepipeline.rules import (
    RuleContext,
    RuleOutcome,
    minute_seconds,
    register_rule,
)

_POLL_SECONDS = 1.0


@register_rule("DeploymentWindow")
class DeploymentWindowRule:
    PROPERTIES = (
        ("Cron", True, "When deploys are allowed: sec min hour day-of-month month "
                       "day-of-week [year]"),
        ("TimeZone", False, "IANA time zone of the window (default UTC)"),
    )

    def run(self, ctx: RuleContext) -> RuleOutcome:
        try:
            window = parse_cron(ctx.configuration.get("Cron", ""))
            zone = ZoneInfo(ctx.configuration.get("TimeZone") or "UTC")
        except (CronError, ZoneInfoNotFoundError, ValueError) as err:
            return RuleOutcome("Failed", f"Rule {ctx.rule_name}: {err}",
                               error_code="InvalidConfiguration")
        waited = 0.0
        limit = (ctx.timeout_minutes or 0) * minute_seconds() or None
        while True:
            moment = ctx.now().astimezone(zone)
            if window.matches(moment):
                return RuleOutcome("Succeeded", f"Inside the window {window.text} "
                                   f"({zone.key}) at {moment:%Y-%m-%d %H:%M %Z}")
            opening = window.next_opening(moment)
            summary = (f"Outside the window {window.text} ({zone.key}); next opening "
                       + (f"{opening:%Y-%m-%d %H:%M %Z}" if opening else "none in 5 years"))
            if opening is None or (limit is not None and waited >= limit):
                return RuleOutcome("Failed", summary)
            ctx.progress(summary)
            if ctx.wait(_POLL_SECONDS):
                return RuleOutcome("Failed", "cancelled", error_code="Cancelled")
            waited += _POLL_SECONDS
