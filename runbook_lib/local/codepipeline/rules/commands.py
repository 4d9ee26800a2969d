"""Commands: a rule that passes when its shell commands all exit 0.

AWS runs a Commands rule on CodeBuild compute; locally it runs as a build does, in the build
sandbox with the role's temporary credentials (the shared runner,
:mod:`runbook_lib.local.codepipeline.commands_runner`, the Commands action's too), one command
after another, stopping at the first that fails. An override, a stop or the rule's
``timeoutInMinutes`` ends the sandbox and everything it started.
"""

from __future__ import annotations

from runbook_lib.local.codepipeline.commands_runner import CommandsJob, run_commands
from runbook_lib.local.codepipeline.rules import (
    RuleContext,
    RuleOutcome,
    minute_seconds,
    register_rule,
)


@register_rule("Commands")
class CommandsRule:
    PROPERTIES = ()

    def run(self, ctx: RuleContext) -> RuleOutcome:
        if not ctx.commands:
            return RuleOutcome("Failed", f"Rule {ctx.rule_name} has no commands",
                               error_code="InvalidConfiguration")
        result = run_commands(CommandsJob(
            state_dir=ctx.state_dir, folder="rules", run_id=ctx.rule_execution_id,
            commands=ctx.commands, region=ctx.region, endpoint_url=ctx.endpoint_url,
            role_arn=ctx.role_arn, initiator=f"codepipeline/{ctx.pipeline_name}",
            stop=ctx.cancelled, timeout_seconds=(ctx.timeout_minutes * minute_seconds()
                                                 if ctx.timeout_minutes else None)))
        return RuleOutcome("Succeeded" if result.succeeded else "Failed",
                           result.summary(ctx.commands))
