"""What can come due: Scheduler schedules and EventBridge rules with a ScheduleExpression.

Both are read through the local AWS's own APIs (``ctx.aws``, in process), never from moto's
models, and turned into one shape, :class:`DueItem`, that the ticks of
:mod:`runbook_lib.local.scheduler.service` reason about.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.text import iso_time
from runbook_lib.local.events.bus import ACCOUNT_ID, ENABLED_STATES
from runbook_lib.local.events.target_input import target_input

log = logging.getLogger("runbook.local.scheduler")

_DEFAULT_RETRY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


@dataclass(frozen=True)
class DueItem:
    """A schedule or a scheduled rule, as far as firing it goes."""

    key: str  # its ARN
    label: str  # for the log: "schedule group/name" or "rule name"
    region: str
    expression: str
    timezone: str
    disabled: bool
    # What, changed, makes the schedule start afresh (not its modification date: a restart's
    # replay of the journal rewrites that).
    signature: str
    start: datetime | None = None
    end: datetime | None = None
    created: datetime | None = None
    window_minutes: int = 0
    delete_after_completion: bool = False
    name: str = ""
    group: str = ""
    make_targets: Callable[[datetime], list[dict[str, Any]]] = field(
        default=lambda _due: [], compare=False)

    @property
    def one_time(self) -> bool:
        return self.expression.strip().startswith("at(")

    def targets(self, due: datetime) -> list[dict[str, Any]]:
        return self.make_targets(due)


def list_items(aws, region: str) -> list[DueItem]:
    """Every schedule and scheduled rule in ``region``."""
    return [*_schedules(aws, region), *_rules(aws, region)]


def delete_completed(aws, item: DueItem) -> None:
    """ActionAfterCompletion DELETE: the completed schedule goes (already gone is fine)."""
    try:
        aws.client("scheduler", item.region).delete_schedule(Name=item.name, GroupName=item.group)
        log.info("%s completed and was deleted (ActionAfterCompletion DELETE)", item.label)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def _schedules(aws, region: str) -> list[DueItem]:
    client = aws.client("scheduler", region)
    items = []
    for page in client.get_paginator("list_schedules").paginate():
        for summary in page.get("Schedules", []):
            try:
                found = client.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
            except ClientError as err:  # deleted between the list and the read
                if err.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                continue
            items.append(_schedule_item(found, region))
    return items


def _schedule_item(found: dict[str, Any], region: str) -> DueItem:
    window = found.get("FlexibleTimeWindow") or {}
    target = dict(found["Target"])
    signature = json.dumps([found.get("ScheduleExpression"),
                            found.get("ScheduleExpressionTimezone"),
                            iso_time(found.get("StartDate")), iso_time(found.get("EndDate"))])
    return DueItem(
        key=found["Arn"], label=f"schedule {found['GroupName']}/{found['Name']}", region=region,
        expression=found.get("ScheduleExpression", ""),
        timezone=found.get("ScheduleExpressionTimezone") or "UTC",
        disabled=found.get("State") == "DISABLED", signature=signature,
        start=_utc(found.get("StartDate")), end=_utc(found.get("EndDate")),
        created=_utc(found.get("CreationDate")),
        window_minutes=int(window.get("MaximumWindowInMinutes") or 0)
        if window.get("Mode") == "FLEXIBLE" else 0,
        delete_after_completion=found.get("ActionAfterCompletion") == "DELETE",
        name=found["Name"], group=found["GroupName"],
        make_targets=lambda _due: [target])


def _rules(aws, region: str) -> list[DueItem]:
    events = aws.client("events", region)
    items = []
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            if not rule.get("ScheduleExpression"):
                continue
            items.append(DueItem(
                key=rule["Arn"], label=f"rule {rule['Name']}", region=region,
                expression=rule["ScheduleExpression"], timezone="UTC",
                disabled=rule.get("State") not in ENABLED_STATES,
                signature=json.dumps([rule["ScheduleExpression"]]),
                make_targets=_rule_targets(events, rule, region)))
    return items


def _rule_targets(events, rule: dict[str, Any], region: str):
    """The rule's targets at firing time, each with the Scheduled Event as its input."""

    def make(due: datetime) -> list[dict[str, Any]]:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": ACCOUNT_ID, "time": iso_time(due),
                 "region": region, "resources": [rule["Arn"]], "detail": {}}
        targets = []
        for page in events.get_paginator("list_targets_by_rule").paginate(Rule=rule["Name"]):
            for target in page.get("Targets", []):
                targets.append({
                    "Arn": target["Arn"], "RoleArn": target.get("RoleArn", ""),
                    "Input": target_input(target, event, rule),
                    "RetryPolicy": target.get("RetryPolicy") or _DEFAULT_RETRY,
                    "DeadLetterConfig": target.get("DeadLetterConfig"),
                    "SqsParameters": target.get("SqsParameters"),
                })
        return targets

    return make


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)
