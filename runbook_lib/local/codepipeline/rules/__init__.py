"""The plug-in shape of stage-condition rules, as :mod:`..actions` is for actions.

A condition's rules each run as a record (a rule execution) through the evaluator registered
for the rule's provider: ``run(ctx) -> RuleOutcome``. An evaluator may wait (an alarm that may
clear, a window that may open); it waits only through ``ctx.wait`` so that an override, a stop
or a shutdown ends the wait at once. Time comes from ``ctx.now()`` so tests can fix the clock
(``RUNBOOK_LOCAL_CLOCK``, an ISO time) and shorten a rule's minutes
(``RUNBOOK_LOCAL_RULE_MINUTE_SECONDS``), as approvals' timeout is shortened.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runbook_lib.local import clock

if TYPE_CHECKING:
    from runbook_lib.local.server.internal import InternalAws

CLOCK_ENV = "RUNBOOK_LOCAL_CLOCK"
MINUTE_ENV = "RUNBOOK_LOCAL_RULE_MINUTE_SECONDS"
RULE_MODULES = (
    "runbook_lib.local.codepipeline.rules.alarm",
    "runbook_lib.local.codepipeline.rules.window",
    "runbook_lib.local.codepipeline.rules.variable_check",
    "runbook_lib.local.codepipeline.rules.commands",
)


def now() -> datetime:
    """The local AWS's idea of now: the fixed ``RUNBOOK_LOCAL_CLOCK`` if set, else UTC now."""
    fixed = os.environ.get(CLOCK_ENV)
    if fixed:
        moment = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def minute_seconds() -> float:
    """How long a rule's minute lasts here: 60 s, divided by the rehearsal clock's factor,
    unless a test shortens it outright."""
    return float(os.environ.get(MINUTE_ENV) or clock.scaled(60))


@dataclass
class RuleContext:
    """What an evaluator may use; ``configuration`` has variables resolved."""

    aws: InternalAws
    state_dir: Path
    region: str
    pipeline_name: str
    execution_id: str
    stage_name: str
    rule_name: str
    rule_execution_id: str
    block: str  # beforeEntry | onSuccess | onFailure
    configuration: dict[str, str]
    commands: list[str] = field(default_factory=list)
    timeout_minutes: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[str], None] = lambda summary: None
    # The role the rule runs as (its roleArn, else the pipeline's) and where commands reach
    # this local AWS: a Commands rule's temporary credentials are issued for that role.
    role_arn: str = ""
    endpoint_url: str | None = None

    def now(self) -> datetime:
        return now()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the run was cancelled (override, stop)."""
        return self.cancelled.wait(max(0.0, seconds))


@dataclass
class RuleOutcome:
    """How a rule ended; ``summary`` says why in an operator's words."""

    status: str  # Succeeded | Failed
    summary: str = ""
    external_execution_id: str | None = None
    error_code: str = "RuleFailed"


class RuleEvaluator(Protocol):
    PROPERTIES: tuple[tuple[str, bool, str], ...]  # (name, required, description)

    def run(self, ctx: RuleContext) -> RuleOutcome: ...


_REGISTRY: dict[str, type[RuleEvaluator]] = {}
_loaded = False


def register_rule(provider: str):
    """Class decorator: this evaluator runs rules of ``provider``."""

    def wrap(cls):
        _REGISTRY[provider] = cls
        return cls

    return wrap


def evaluator_for(provider: str) -> RuleEvaluator | None:
    global _loaded
    if not _loaded:
        for module in RULE_MODULES:
            importlib.import_module(module)
        _loaded = True
    factory = _REGISTRY.get(provider)
    return factory() if factory else None


def rule_types() -> list[dict[str, Any]]:
    """ListRuleTypes' answer: every provider with its configuration properties."""
    evaluator_for("")
    types = []
    for provider in sorted(_REGISTRY):
        properties = [{"name": n, "required": r, "key": r, "secret": False, "queryable": False,
                       "description": d, "type": "String"}
                      for n, r, d in _REGISTRY[provider].PROPERTIES]
        types.append({"id": {"category": "Rule", "owner": "AWS", "provider": provider,
                             "version": "1"},
                      "ruleConfigurationProperties": properties,
                      "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1}})
    return types


@register_rule("LambdaInvoke")
class LambdaInvokeRule:
    """The local AWS runs no Lambda functions: the rule fails and says so."""

    PROPERTIES = (("FunctionName", True, "The Lambda function to invoke"),)

    def run(self, ctx: RuleContext) -> RuleOutcome:
        return RuleOutcome("Failed", f"Rule {ctx.rule_name}: the local AWS does not run Lambda "
                           f"functions, so LambdaInvoke ({ctx.configuration.get('FunctionName')})"
                           " cannot be evaluated here; use a VariableCheck or Commands rule "
                           "locally, or run this pipeline on AWS", error_code="NotSupported")
