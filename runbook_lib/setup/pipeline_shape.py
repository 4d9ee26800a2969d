"""A pipeline's shape (stages, actions, gates) as small dataclasses, for tables and drawings.

Presentation takes these, never a raw declaration, and never calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionShape:
    name: str
    category: str
    provider: str
    run_order: int
    input_artifacts: tuple[str, ...]
    output_artifacts: tuple[str, ...]
    namespace: str


@dataclass(frozen=True)
class StageShape:
    name: str
    actions: tuple[ActionShape, ...]
    on_failure: str = ""
    # One line per condition block, e.g. "beforeEntry: DeploymentWindow, CloudWatchAlarm -> FAIL".
    gates: tuple[str, ...] = ()

    @property
    def gate_badge(self) -> str:
        """A few words for the drawing: which gates guard this stage ("" when none)."""
        words = {"beforeEntry": "entry gate", "onSuccess": "post-deploy watch",
                 "onFailure": "auto-retry"}
        kinds = [words[line.split(":", 1)[0]] for line in self.gates
                 if line.split(":", 1)[0] in words
                 and (line.startswith("onFailure") is ("retry" in line))]
        return ", ".join(dict.fromkeys(kinds))


@dataclass(frozen=True)
class PipelineShape:
    """Stages and actions of a pipeline, as deployed or (``deployed=False``) as planned."""

    name: str
    pipeline_type: str
    execution_mode: str
    stages: tuple[StageShape, ...]
    trigger_branches: tuple[str, ...] = ()
    version: int | None = None
    deployed: bool = True

    @property
    def starts_on(self) -> str:
        """What starts a run, in a sentence for the notebook."""
        if self.trigger_branches:
            return f"a push to branch {', '.join(self.trigger_branches)} (V2 trigger)"
        return ("an EventBridge rule on source changes (CodeCommit and S3 sources have no "
                "trigger; that rule is not part of this step), or a manual start")

    def gate_rows(self) -> list[tuple[str, str]]:
        """(stage, gate) rows for the release-gates table; one row saying none when off."""
        rows = [(stage.name, gate) for stage in self.stages for gate in stage.gates]
        return rows or [("-", "no release gate declared (every gate parameter is off)")]

    def as_rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """(stage, action, provider, inputs, outputs, namespace) rows for the stage table."""
        return [
            (stage.name, action.name, action.provider, ", ".join(action.input_artifacts) or "-",
             ", ".join(action.output_artifacts) or "-", action.namespace or "-")
            for stage in self.stages for action in stage.actions
        ]


def shape_from_declaration(declaration: dict, deployed: bool = True) -> PipelineShape:
    """A pipeline declaration (as GetPipeline returns it) as a :class:`PipelineShape`."""
    return PipelineShape(
        name=declaration["name"],
        pipeline_type=declaration.get("pipelineType", "V1"),
        execution_mode=declaration.get("executionMode", "SUPERSEDED"),
        stages=tuple(_stage_shape(stage) for stage in declaration["stages"]),
        trigger_branches=tuple(
            branch
            for trigger in declaration.get("triggers", [])
            for push in trigger.get("gitConfiguration", {}).get("push", [])
            for branch in push.get("branches", {}).get("includes", [])
        ),
        version=declaration.get("version"),
        deployed=deployed,
    )


def _stage_shape(stage: dict) -> StageShape:
    ordered = sorted(stage["actions"], key=lambda a: (a.get("runOrder", 1), a["name"]))
    return StageShape(
        name=stage["name"],
        actions=tuple(
            ActionShape(
                name=a["name"],
                category=a["actionTypeId"]["category"],
                provider=a["actionTypeId"]["provider"],
                run_order=a.get("runOrder", 1),
                input_artifacts=tuple(x["name"] for x in a.get("inputArtifacts", [])),
                output_artifacts=tuple(x["name"] for x in a.get("outputArtifacts", [])),
                namespace=a.get("namespace", ""),
            )
            for a in ordered
        ),
        on_failure=(stage.get("onFailure") or {}).get("result", ""),
        gates=_gate_lines(stage),
    )


def _gate_lines(stage: dict) -> tuple[str, ...]:
    lines = []
    for block in ("beforeEntry", "onSuccess", "onFailure"):
        declared = stage.get(block) or {}
        for condition in declared.get("conditions") or []:
            providers = ", ".join(r["ruleTypeId"]["provider"] for r in condition["rules"])
            lines.append(f"{block}: {providers} -> {condition.get('result', '')}")
        if declared.get("result") == "RETRY":
            mode = (declared.get("retryConfiguration") or {}).get("retryMode", "")
            lines.append(f"{block}: automatic retry ({mode})")
    return tuple(lines)
