"""The failure rule, proved: sample events in AWS's exact shape put to its pattern.

:func:`prove_rule` asks EventBridge itself (``TestEventPattern``) whether the rule's pattern
matches each sample, both ways (a failure that must match, a success and another pipeline's
failure that must not), so the operator sees the rule work before a real failure.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runbook_lib.core.errors import aws_step
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import iso_time
from runbook_lib.setup.monitoring import (
    EVENT_KINDS,
    EVENT_SOURCE,
    describe_failure_rule,
    failure_pattern,
)

SAMPLE_STAGE = "Build"


@dataclass
class RuleProof:
    """One sample event put to the rule's pattern: what should happen and what EventBridge said."""

    case: str
    detail_type: str
    pipeline: str
    state: str
    expected: bool
    matched: bool
    pattern_from: str  # "rule" (deployed) or "plan" (rule not created yet)

    @property
    def ok(self) -> bool:
        return self.expected == self.matched

    def row(self) -> tuple[str, str, str, str, str]:
        want = "match" if self.expected else "no match"
        got = "match" if self.matched else "no match"
        return (self.case, want, got, "ok" if self.ok else "WRONG", self.pattern_from)


PROOF_HEADERS = ("sample event", "expected", "EventBridge says", "verdict", "pattern")


def sample_event(params: Params, names: ResourceNames, kind: str, state: str,
                 pipeline: str | None = None) -> dict[str, Any]:
    """An event in the shape CodePipeline sends to EventBridge (CodePipeline user guide).

    ``kind`` is ``pipeline`` or ``stage``; ``pipeline`` defaults to this app's pipeline. Ids are
    derived from the inputs so the same sample is the same event.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}")
    pipeline = pipeline or names.pipeline
    now = datetime.now(UTC).replace(microsecond=0)
    seed = f"{names.account_id}/{names.region}/{pipeline}/{kind}/{state}"
    detail: dict[str, Any] = {
        "pipeline": pipeline,
        "execution-id": str(uuid.uuid5(uuid.NAMESPACE_URL, seed + "/execution")),
        "start-time": iso_time(now, "milliseconds"),
        "state": state,
        "version": 1.0,
        "pipeline-execution-attempt": 1.0,
    }
    if kind == "stage":
        detail["stage"] = SAMPLE_STAGE
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
        "detail-type": EVENT_KINDS[kind],
        "source": EVENT_SOURCE,
        "account": names.account_id,
        "time": iso_time(now),
        "region": names.region,
        "resources": [names.arn("codepipeline", pipeline)],
        "detail": detail,
    }


def proof_cases(names: ResourceNames) -> list[tuple[str, str, str, str, bool]]:
    """(case, kind, state, pipeline, should match): both ways, so a too-wide rule shows too."""
    other = f"{names.pipeline}-other"
    return [
        ("pipeline FAILED", "pipeline", "FAILED", names.pipeline, True),
        ("stage FAILED", "stage", "FAILED", names.pipeline, True),
        ("pipeline SUCCEEDED", "pipeline", "SUCCEEDED", names.pipeline, False),
        (f"other pipeline ({other}) FAILED", "pipeline", "FAILED", other, False),
    ]


def prove_rule(session: AwsSession, params: Params, names: ResourceNames) -> list[RuleProof]:
    """Ask EventBridge whether the rule's pattern matches each sample event.

    Uses the deployed rule's pattern when the rule exists, else the planned one (a plan-only
    run can still show the proof).
    """
    rule = describe_failure_rule(session, names)
    if rule is not None:
        pattern, pattern_from = rule.get("EventPattern") or "{}", "rule"
    else:
        pattern, pattern_from = json.dumps(failure_pattern(names)), "plan"
    events = session.client("events")
    proofs = []
    for case, kind, state, pipeline, expected in proof_cases(names):
        event = sample_event(params, names, kind, state, pipeline=pipeline)
        with aws_step(f"test event pattern of {names.failure_rule}"):
            answer = events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))
        proofs.append(RuleProof(case, EVENT_KINDS[kind], pipeline, state, expected,
                                bool(answer.get("Result")), pattern_from))
    return proofs
