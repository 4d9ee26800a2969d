"""Extension: EventBridge Scheduler's schedules and EventBridge's scheduled rules fire.

moto stores schedules (CreateSchedule, GetSchedule, ...) and rules with a
``ScheduleExpression`` but never invokes anything. A background thread here looks at them every
``RUNBOOK_LOCAL_SCHEDULER_TICK`` seconds (1; AWS itself fires within the minute) and invokes
the targets that are due (on a small pool, so one target's retries never hold up another
schedule):

- Under the rehearsal clock (:mod:`runbook_lib.local.clock`, factor N) a ``rate()`` fires N
  times as often; ``at()`` and ``cron()`` keep their wall-clock moments.
- ``State`` DISABLED skips; enabling again does not replay what was skipped.
- ``FlexibleTimeWindow`` FLEXIBLE fires at a random moment within ``MaximumWindowInMinutes``
  after the scheduled time, as AWS does.
- A one-time schedule, or one past its EndDate, is complete; ``ActionAfterCompletion`` DELETE
  then deletes it.
- What fired last is kept in ``scheduler.json`` in the state folder. A schedule that came due
  while the server was down fires once at start (AWS promises at-least-once delivery, so a
  catch-up is allowed; occurrences missed in between are not replayed), and the log says so.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.core.schedule_expressions import ExpressionError, next_fire, parse_expression
from runbook_lib.local import clock
from runbook_lib.local.poller import Poller, poll_interval
from runbook_lib.local.scheduler import due_items
from runbook_lib.local.scheduler.targets import Invocation, Outcome, invoke
from runbook_lib.local.server.store import JsonStore

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext
    from runbook_lib.local.server.wire import Request

log = logging.getLogger("runbook.local.scheduler")

STATE_FILE = "scheduler.json"
TICK_ENV = "RUNBOOK_LOCAL_SCHEDULER_TICK"
RECENT = 200


class ScheduleRunner:
    """Fires schedules and scheduled rules; ``fired()`` lists what it did, for tests."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.poller = Poller("scheduler", self._tick_round, poll_interval(TICK_ENV), log)
        self._startup = True
        self.store = JsonStore(Path(ctx.state_dir) / STATE_FILE, {"regions": [], "items": {}})
        self.factor = clock.time_factor()
        self.started = datetime.now(UTC)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="schedule-target")
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._lock = threading.Lock()
        self._running: set[str] = set()

    def routes(self):
        return {}

    def after_forward(self, request: Request, status: int) -> None:
        """Remember the regions that hold schedules, so the ticks look only there.

        Scheduler's REST calls carry no operation name: any POST or PUT to it counts."""
        watched = ((request.service == "scheduler" and request.method in ("POST", "PUT"))
                   or (request.service, request.operation) == ("events", "PutRule"))
        if status < 400 and watched and request.region not in self.store.data["regions"]:
            with self.store.transaction() as data:
                if request.region not in data["regions"]:
                    data["regions"].append(request.region)

    def start(self) -> None:
        if self.factor != 1:
            log.info("rehearsal clock: rate() schedules fire %gx as often", self.factor)
        self.poller.start()

    def close(self) -> None:
        self.poller.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def fired(self) -> list[dict[str, Any]]:
        """The latest invocations, oldest first: key, scheduled, status, attempts, error."""
        with self._lock:
            return list(self._recent)

    # -- the ticks -----------------------------------------------------------------------------

    def _tick_round(self) -> None:
        """One round of the poller: the first that succeeds is the start-up tick."""
        self.tick(self._startup)
        self._startup = False

    def tick(self, startup: bool = False) -> None:
        now = datetime.now(UTC)
        seen: set[str] = set()
        for region in list(self.store.data["regions"]):
            for item in due_items.list_items(self.ctx.aws, region):
                seen.add(item.key)
                self._consider(item, now, startup)
        gone = [k for k in self.store.data["items"] if k not in seen]
        if gone:
            with self.store.transaction() as data:
                for key in gone:
                    del data["items"][key]

    def _consider(self, item: due_items.DueItem, now: datetime, startup: bool) -> None:
        if item.key in self._running:
            return
        record = self._record(item, now)
        if item.disabled:  # nothing fires
            if not record.get("disabled"):
                self._save(item.key, record | {"disabled": True, "fire_at": None})
            return
        if record.get("disabled"):  # enabled again: what was skipped is not replayed
            record |= {"disabled": False, "last": now.isoformat(), "fire_at": None}
            self._save(item.key, record)
        try:
            times = parse_expression(item.expression, item.timezone)
            if times.every is not None:
                times = replace(times, every=times.every / self.factor)
        except ExpressionError as err:
            if record.get("invalid") != str(err):
                log.warning("%s will never fire: %s", item.label, err)
                self._save(item.key, record | {"invalid": str(err)})
            return
        last = datetime.fromisoformat(record["last"]) if record.get("last") else None
        anchor = datetime.fromisoformat(record["anchor"])
        due = next_fire(times, last or anchor - timedelta(microseconds=1), anchor,
                        item.start, item.end)
        if due is None:
            if times.one_time and last is None and not record.get("never"):
                log.warning("%s will never fire: its at() time %s was already past when it was "
                            "created (%s); the local AWS fires a one-time schedule only at a "
                            "later time: give at() a time ahead", item.label,
                            times.at.isoformat() if times.at else "?", anchor.isoformat())
                self._save(item.key, record | {"never": "at() time before creation"})
            if item.delete_after_completion and (last or times.one_time):
                due_items.delete_completed(self.ctx.aws, item)
            return
        fire_at = _fire_at(record, due, item.window_minutes)
        if fire_at > now:
            self._save(item.key, record | {"fire_at": fire_at.isoformat()})
            return
        if startup and fire_at < self.started:
            log.warning("%s was due at %s while the local AWS was down: it fires once now "
                        "(at-least-once delivery); earlier missed runs are not replayed",
                        item.label, due.isoformat())
        self._save(item.key, record | {"last": now.isoformat(), "fire_at": None})
        self._fire(item, due)

    def _record(self, item: due_items.DueItem, now: datetime) -> dict[str, Any]:
        record = self.store.data["items"].get(item.key)
        if record is None or record.get("signature") != item.signature:
            anchor = min(now, item.created) if item.created and record is None else now
            record = {"signature": item.signature, "anchor": anchor.isoformat()}
            self._save(item.key, record)
        return dict(record)

    def _save(self, key: str, record: dict[str, Any]) -> None:
        """Write only a change: the ticks run every second, the state file is on disk."""
        if self.store.data["items"].get(key) == record:
            return
        with self.store.transaction() as data:
            data["items"][key] = record

    def _fire(self, item: due_items.DueItem, due: datetime) -> None:
        with self._lock:
            self._running.add(item.key)
        log.info("%s fires (scheduled for %s)", item.label, due.isoformat())
        self._pool.submit(self._invoke_all, item, due)

    def _invoke_all(self, item: due_items.DueItem, due: datetime) -> None:
        try:
            for target in item.targets(due):
                invocation = Invocation(item.key, due, str(uuid.uuid4()), target, item.region)
                outcome = invoke(self.ctx.aws, invocation, self.poller.stopping)
                self._remember(item, due, target, outcome)
        except Exception:
            log.exception("%s: invocation failed", item.label)
        finally:
            with self._lock:
                self._running.discard(item.key)

    def _remember(self, item: due_items.DueItem, due: datetime, target: dict[str, Any],
                  outcome: Outcome) -> None:
        entry = {"key": item.key, "scheduled": due.astimezone(UTC).isoformat(),
                 "target": target.get("Arn", ""), "status": outcome.status,
                 "attempts": outcome.attempts, "error_code": outcome.error_code,
                 "dead_lettered": outcome.dead_lettered}
        with self._lock:
            self._recent.append(entry)
        with self.store.transaction() as data:
            record = data["items"].setdefault(item.key, {})
            record["last_outcome"] = entry
            record["invocations"] = int(record.get("invocations", 0)) + 1
        log.info("%s -> %s: %s after %d attempt(s)", item.label, entry["target"],
                 outcome.status, outcome.attempts)


def _fire_at(record: dict[str, Any], due: datetime, window_minutes: int) -> datetime:
    """The moment to fire for ``due``: kept once drawn, so a flexible window is drawn once."""
    if record.get("fire_at") and record.get("fire_for") == due.isoformat():
        return datetime.fromisoformat(record["fire_at"])
    offset = random.uniform(0, window_minutes * 60) if window_minutes else 0.0
    record["fire_for"] = due.isoformat()
    return due + timedelta(seconds=offset)
