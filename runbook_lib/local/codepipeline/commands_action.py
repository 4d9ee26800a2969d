"""The Commands action (category Compute, provider Commands): shell commands in the pipeline.

AWS runs the action's ``commands`` on CodeBuild compute; locally they run as a build does, in
the build sandbox with the role's temporary credentials (the shared runner,
:mod:`runbook_lib.local.codepipeline.commands_runner`), in a fresh source folder holding the
first input artifact, and stop at the first command that fails. Declared ``outputVariables``
are read back from the shell; each output artifact is a zip of the folder afterwards. A stop
of the execution ends the sandbox and everything it started.
"""

from __future__ import annotations

from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register,
)
from runbook_lib.local.codepipeline.artifacts import get_artifact, put_artifact
from runbook_lib.local.codepipeline.commands_runner import CommandsJob, run_commands


@register("Compute", "Commands")
class CommandsAction:
    def run(self, ctx: ActionContext) -> ActionOutcome:
        if not ctx.commands:
            return ActionOutcome("Failed", f"Action {ctx.action_name} declares no commands")
        source = (get_artifact(ctx.aws, ctx.region, ctx.input_artifacts[0])
                  if ctx.input_artifacts else None)
        result = run_commands(CommandsJob(
            state_dir=ctx.state_dir, folder="commands", run_id=ctx.action_execution_id,
            commands=ctx.commands, region=ctx.region, endpoint_url=ctx.endpoint_url,
            role_arn=ctx.role_arn, initiator=f"codepipeline/{ctx.pipeline_name}",
            input_zip=source, output_variables=ctx.output_variable_names,
            pack_output=bool(ctx.output_artifact_names), stop=ctx.stop_requested))
        summary = result.summary(ctx.commands)
        if not result.succeeded:
            return ActionOutcome("Failed", summary)
        outputs: list[ArtifactRef] = []
        if ctx.output_artifact_names:
            packed = result.output_zip  # run_commands packs the folder when pack_output asks
            if packed is None:
                return ActionOutcome("Failed", f"Action {ctx.action_name}: the commands "
                                     "succeeded but their folder was not packed for the "
                                     "output artifacts (a local AWS error: report it)")
            outputs = [put_artifact(ctx.aws, ctx.region, ArtifactRef(
                name, ctx.artifact_bucket, ctx.new_artifact_key(name)), packed)
                for name in ctx.output_artifact_names]
        return ActionOutcome("Succeeded", summary, outputs, result.variables)
