"""The Commands action (category Compute, provider Commands): shell commands in the pipeline.

AWS runs the action's ``commands`` on CodeBuild compute; locally they run in the build runner's
shell (:class:`runbook_lib.local.codebuild.shell.BuildShell`) in a scratch folder holding the
first input artifact, and stop at the first command that fails. Declared ``outputVariables``
are read back from the shell; each output artifact is a zip of the folder afterwards.
"""

from __future__ import annotations

import shutil

from runbook_lib.local.archives import extract_zip, make_zip
from runbook_lib.local.codebuild.env import machine_environment
from runbook_lib.local.codebuild.shell import BuildShell
from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register,
)
from runbook_lib.local.codepipeline.artifacts import get_artifact, put_artifact

_TAIL_LINES = 5


@register("Compute", "Commands")
class CommandsAction:
    def run(self, ctx: ActionContext) -> ActionOutcome:
        if not ctx.commands:
            return ActionOutcome("Failed", f"Action {ctx.action_name} declares no commands")
        scratch = ctx.state_dir / "commands" / ctx.action_execution_id
        work = scratch / "src"
        work.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        shell = BuildShell(work, machine_environment(), scratch / "shell")
        try:
            if ctx.input_artifacts:
                extract_zip(get_artifact(ctx.aws, ctx.region, ctx.input_artifacts[0]), work)
            shell.start()
            result = shell.run_commands(ctx.commands, lambda _index: None, lines.append)
            variables = (shell.read_variables(ctx.output_variable_names)
                         if result.status == 0 and ctx.output_variable_names else {})
            tail = " | ".join(line.strip() for line in lines[-_TAIL_LINES:] if line.strip())
            if result.status != 0:
                return ActionOutcome("Failed", f"Command {result.index + 1} "
                                     f"({ctx.commands[result.index]!r}) exited "
                                     f"{result.status}" + (f": {tail}" if tail else ""))
            outputs = [put_artifact(ctx.aws, ctx.region, ArtifactRef(
                name, ctx.artifact_bucket, ctx.new_artifact_key(name)), make_zip(work))
                for name in ctx.output_artifact_names]
            return ActionOutcome("Succeeded", f"{len(ctx.commands)} command(s) exited 0"
                                 + (f": {tail}" if tail else ""), outputs, variables)
        finally:
            shell.close()
            shutil.rmtree(scratch, ignore_errors=True)
