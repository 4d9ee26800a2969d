"""Commands: a rule that passes when its shell commands all exit 0.

AWS runs a Commands rule on CodeBuild compute; locally it runs in the build runner's shell
(:class:`runbook_lib.local.codebuild.shell.BuildShell`), in a scratch folder of the state
directory, one command after another, and stops at the first that fails.
"""

from __future__ import annotations

import shutil

from runbook_lib.local.codebuild.env import machine_environment
from runbook_lib.local.codebuild.shell import BuildShell
from runbook_lib.local.codepipeline.rules import RuleContext, RuleOutcome, register_rule

_TAIL_LINES = 5


@register_rule("Commands")
class CommandsRule:
    PROPERTIES = ()

    def run(self, ctx: RuleContext) -> RuleOutcome:
        if not ctx.commands:
            return RuleOutcome("Failed", f"Rule {ctx.rule_name} has no commands",
                               error_code="InvalidConfiguration")
        scratch = ctx.state_dir / "rules" / ctx.rule_execution_id
        work = scratch / "src"
        work.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        shell = BuildShell(work, machine_environment(), scratch / "shell")
        try:
            shell.start()
            result = shell.run_commands(ctx.commands, lambda _index: None, lines.append)
        finally:
            shell.close()
            shutil.rmtree(scratch, ignore_errors=True)
        tail = " | ".join(line.strip() for line in lines[-_TAIL_LINES:] if line.strip())
        if result.status != 0:
            return RuleOutcome("Failed", f"Command {result.index + 1} "
                               f"({ctx.commands[result.index]!r}) exited {result.status}"
                               + (f": {tail}" if tail else ""))
        return RuleOutcome("Succeeded", f"{len(ctx.commands)} command(s) exited 0"
                           + (f": {tail}" if tail else ""))
