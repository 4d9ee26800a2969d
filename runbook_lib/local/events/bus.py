"""EventBridge PutEvents with rule matching and delivery to SNS, SQS and Firehose targets.

moto stores rules and targets but cannot deliver to SNS, so the failure notifications the suite
sets up would never arrive. Here PutEvents is validated as EventBridge does, each event gets its
envelope and id, and a worker thread matches it against the enabled rules of its bus (read from
moto through the wire protocol, with their targets, and kept until the next change to any rule,
target or bus: a pipeline's every state change is an event) and delivers each target's input
(``Input``, ``InputPath`` or ``InputTransformer``) with SNS Publish or SQS SendMessage.
Delivery is off the request thread, so PutEvents stays fast and a failing target never fails
the caller.

PutEvents is not forwarded to moto: moto would deliver to SQS targets a second time.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.core.text import iso_time
from runbook_lib.local.events.patterns import matches, parse_pattern
from runbook_lib.local.events.target_input import target_input
from runbook_lib.local.server.internal import INTERNAL_HEADER
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.events")

ACCOUNT_ID = "123456789012"
MAX_ENTRIES = 10
RECENT_DELIVERIES = 500
ENABLED_STATES = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")

_STOP = object()


@dataclass(frozen=True)
class _Route:
    """An enabled rule of a bus, its parsed pattern and its targets."""

    rule: dict[str, Any]
    pattern: Any
    targets: list[dict[str, Any]]


@dataclass(frozen=True)
class Delivery:
    """One target's delivery of one event, kept in memory for debugging and tests."""

    event_id: str
    rule: str
    target_id: str
    target_arn: str
    status: str  # delivered | failed | undeliverable
    payload: str
    error: str = ""


class EventBus:
    """PutEvents, answered here; matching and delivery run on one worker thread."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self._queue: queue.Queue = queue.Queue()
        self._recent: deque[Delivery] = deque(maxlen=RECENT_DELIVERIES)
        self._recent_lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition()
        self._worker: threading.Thread | None = None
        # (region, bus) -> its routes, until an events call changes rules, targets or buses.
        self._routes: dict[tuple[str, str], list[_Route]] = {}
        self._routes_lock = threading.Lock()
        self._routes_generation = 0

    def routes(self):
        return {("events", "PutEvents"): self.put_events}

    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="event-delivery", daemon=True)
        self._worker.start()

    def close(self) -> None:
        if self._worker is not None:
            self._queue.put(_STOP)
            self._worker.join(timeout=10)
            self._worker = None

    def after_forward(self, request: Request, status: int) -> None:
        """A change moto made to EventBridge (a rule, its targets, a bus): routes are read
        afresh for the next event."""
        if request.service == "events":
            with self._routes_lock:
                self._routes_generation += 1
                self._routes.clear()

    # -- for debugging and tests ----------------------------------------------------------------

    def recent_deliveries(self) -> list[Delivery]:
        """The latest deliveries, oldest first (at most ``RECENT_DELIVERIES``)."""
        with self._recent_lock:
            return list(self._recent)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every accepted event has been matched and delivered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # -- PutEvents ----------------------------------------------------------------------------

    def put_events(self, request: Request) -> Response:
        entries = request.json().get("Entries")
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
            raise AwsError("ValidationException",
                           "1 validation error detected: Value at 'entries' failed to satisfy "
                           f"constraint: Member must have length between 1 and {MAX_ENTRIES}")
        internal = bool(request.headers.get(INTERNAL_HEADER))
        now = datetime.now(UTC)
        results: list[dict[str, str]] = []
        accepted: list[tuple[str, str, dict[str, Any]]] = []
        known_buses: dict[str, bool] = {}
        for entry in entries:
            bus = _bus_name(entry.get("EventBusName"))
            error = _entry_error(entry, internal)
            if error is None and not self._bus_exists(request.region, bus, known_buses):
                error = ("ResourceNotFoundException", f"Event bus {bus} does not exist.")
            if error is not None:
                results.append({"ErrorCode": error[0], "ErrorMessage": error[1]})
                continue
            event = _envelope(entry, request.region, now)
            results.append({"EventId": event["id"]})
            accepted.append((request.region, bus, event))
        with self._idle:
            self._pending += len(accepted)
        for item in accepted:
            self._queue.put(item)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return json_response({"FailedEntryCount": failed, "Entries": results})

    def _bus_exists(self, region: str, bus: str, known: dict[str, bool]) -> bool:
        if bus not in known:
            try:
                self.ctx.aws.client("events", region).describe_event_bus(Name=bus)
                known[bus] = True
            except ClientError as err:
                if err.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                known[bus] = False
        return known[bus]

    # -- the worker -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            region, bus, event = item
            try:
                self._route(region, bus, event)
            except (ClientError, BotoCoreError) as err:
                log.warning("event %s on bus %s not routed: %s", event["id"], bus, err)
            except Exception:  # keep the worker alive; the traceback goes to the server log
                log.exception("event %s on bus %s: delivery failed", event["id"], bus)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _route(self, region: str, bus: str, event: dict[str, Any]) -> None:
        for route in self._routes_of(region, bus):
            if matches(route.pattern, event):
                for target in route.targets:
                    self._record(self._deliver(route.rule, target, event))

    def _routes_of(self, region: str, bus: str) -> list[_Route]:
        """The bus's routes, read from moto once per change to EventBridge's rules."""
        with self._routes_lock:
            known = self._routes.get((region, bus))
            generation = self._routes_generation
        if known is not None:
            return known
        found = self._read_routes(region, bus)
        with self._routes_lock:
            if generation == self._routes_generation:  # no change while they were read
                self._routes[(region, bus)] = found
        return found

    def _read_routes(self, region: str, bus: str) -> list[_Route]:
        events = self.ctx.aws.client("events", region)
        found: list[_Route] = []
        for rule in _paginate(events, "list_rules", "Rules", EventBusName=bus):
            if rule.get("State") not in ENABLED_STATES or not rule.get("EventPattern"):
                continue
            try:
                pattern = parse_pattern(rule["EventPattern"])
            except AwsError as err:
                log.warning("rule %s has an invalid pattern, skipped: %s", rule["Name"], err)
                continue
            targets = list(_paginate(events, "list_targets_by_rule", "Targets",
                                     Rule=rule["Name"], EventBusName=bus))
            found.append(_Route(rule, pattern, targets))
        return found

    def _deliver(self, rule: dict[str, Any], target: dict[str, Any],
                 event: dict[str, Any]) -> Delivery:
        arn = target["Arn"]
        payload = target_input(target, event, rule)

        def outcome(status: str, error: str = "") -> Delivery:
            return Delivery(event["id"], rule["Name"], target["Id"], arn, status, payload, error)

        parts = arn.split(":", 5)
        service = parts[2] if len(parts) == 6 else ""
        if service not in ("sns", "sqs", "firehose"):
            log.warning("rule %s: target %s (%s) is undeliverable by the local AWS",
                        rule["Name"], target["Id"], arn)
            return outcome("undeliverable", f"{service or arn} targets are not delivered locally")
        try:
            if service == "sns":
                self.ctx.aws.client("sns", parts[3]).publish(TopicArn=arn, Message=payload)
            elif service == "firehose":  # one record per event, as EventBridge puts them
                self.ctx.aws.client("firehose", parts[3]).put_record_batch(
                    DeliveryStreamName=parts[5].split("/", 1)[-1],
                    Records=[{"Data": payload.encode()}])
            else:
                self._send_to_queue(parts[3], parts[4], parts[5], target, event, payload)
        except (ClientError, BotoCoreError) as err:
            log.warning("rule %s: delivery to %s failed: %s", rule["Name"], arn, err)
            return outcome("failed", str(err))
        return outcome("delivered")

    def _send_to_queue(self, region: str, account: str, name: str, target: dict[str, Any],
                       event: dict[str, Any], payload: str) -> None:
        sqs = self.ctx.aws.client("sqs", region)
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        extra: dict[str, str] = {}
        if name.endswith(".fifo"):
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            # EventBridge requires a group for FIFO targets; the target id stands in without one.
            extra = {"MessageGroupId": group or target["Id"],
                     "MessageDeduplicationId": event["id"]}
        sqs.send_message(QueueUrl=url, MessageBody=payload, **extra)

    def _record(self, delivery: Delivery) -> None:
        with self._recent_lock:
            self._recent.append(delivery)


# -- entries and envelopes ------------------------------------------------------------------------


def _entry_error(entry: Any, internal: bool) -> tuple[str, str] | None:
    """(ErrorCode, ErrorMessage) as EventBridge puts them in a failed entry, else None."""
    if not isinstance(entry, dict):
        return ("InvalidArgument", "Entry is not valid.")
    for field in ("Source", "DetailType", "Detail"):
        if not entry.get(field):
            return ("InvalidArgument",
                    f"Parameter {field} is not valid. Reason: {field} is a required argument.")
    try:
        detail = json.loads(entry["Detail"])
    except (TypeError, ValueError):
        detail = None
    if not isinstance(detail, dict):
        return ("MalformedDetail", "Detail is malformed.")
    if str(entry["Source"]).startswith("aws.") and not internal:
        return ("NotAuthorizedForSourceException", "Not authorized for the source.")
    resources = entry.get("Resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return ("InvalidArgument", "Parameter Resources is not valid.")
    return None


def _envelope(entry: dict[str, Any], region: str, now: datetime) -> dict[str, Any]:
    """The event as EventBridge delivers it to targets and matches it against patterns."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT_ID,
        "time": _iso_time(entry.get("Time"), now),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }


def _iso_time(value: Any, now: datetime) -> str:
    """The entry's Time (epoch seconds on the JSON wire, or RFC 3339), else the call's time."""
    when = now
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        when = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            when = now
    return iso_time(when)


def _bus_name(value: Any) -> str:
    """A bus name from a name or an ARN; the default bus when absent."""
    if not value:
        return "default"
    return str(value).rsplit("event-bus/", 1)[-1] if str(value).startswith("arn:") else str(value)


def _paginate(client, operation: str, key: str, **kwargs: Any):
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])
