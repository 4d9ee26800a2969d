"""The runs that started after the ones an operator already knows: what a waiter polls for.

A waiter (a push's run, an automated rollback) polls ListPipelineExecutions every half second
for a run that is not among the ``known`` ones. AWS documents no order for its pages, so only
a listing read to its end is certain to hold every new run; read on every poll, a year of
history costs a call per hundred runs, twice a second. A new run is recent, though, so:

- the first poll reads every page, and notes the latest start among the known runs listed;
  a run is *new* when its id is not known and it started after that (or says no start): runs
  older than the known ones (beyond the caller's window of the newest) are never taken for it;
- the polls after it read pages while they hold a new run, and stop at the first page that
  holds none: where AWS lists newest first, as it does, one call a poll;
- every ``full_every``-th poll (and any the caller asks to be) reads every page again, so that
  in any order a new run listed on a late page is found within that many polls, and a caller
  that needs to know it has seen *every* new run (:func:`.gate_rehearsal` waits until all have
  finished) gets an answer it can trust.
"""

from __future__ import annotations

from datetime import datetime

from runbook_lib.core.session import AwsSession
from runbook_lib.operate.summaries import (
    PAGE_SIZE,
    ExecutionSummary,
    newest_first,
    require_id,
    summary_of,
)

FULL_EVERY = 10  # at a poll every 0.5 s: a full reading every 5 s


class NewRuns:
    """Polls a pipeline for the runs not in ``known`` that started after all of them."""

    def __init__(self, session: AwsSession, pipeline: str, known: set[str],
                 full_every: int = FULL_EVERY) -> None:
        self.pipeline = require_id("pipeline", pipeline)
        self.known = set(known)
        self.full_every = max(1, full_every)
        self.polls = 0
        self.after: datetime | None = None  # the latest start of a known run, once read
        self._read_all_once = False
        self._paginator = session.client("codepipeline").get_paginator(
            "list_pipeline_executions")

    def poll(self, full: bool = False) -> tuple[list[ExecutionSummary], bool]:
        """The new runs this poll read, newest first, and whether it read every page (only
        then is the list certain to be complete)."""
        full = full or not self._read_all_once or self.polls % self.full_every == 0
        self.polls += 1
        found: list[ExecutionSummary] = []
        pages = self._paginator.paginate(pipelineName=self.pipeline,
                                         PaginationConfig={"PageSize": PAGE_SIZE})
        for page in pages:
            listed = [s for s in map(summary_of, page.get("pipelineExecutionSummaries") or [])
                      if s.execution_id]
            if not self._read_all_once:
                self._note_known(listed)
            fresh = [s for s in listed if self._is_new(s)]
            found.extend(fresh)
            if not full and not fresh and page.get("nextToken"):
                return self._new(found), False
        if not self._read_all_once:  # the first reading: only now is ``after`` known
            self._read_all_once = True
            found = [s for s in found if self._is_new(s)]
        return self._new(found), True

    def _note_known(self, listed: list[ExecutionSummary]) -> None:
        for summary in listed:
            start = summary.start_time
            if summary.execution_id in self.known and start is not None and (
                    self.after is None or start > self.after):
                self.after = start

    def _is_new(self, summary: ExecutionSummary) -> bool:
        if summary.execution_id in self.known:
            return False
        return self.after is None or summary.start_time is None or summary.start_time > self.after

    @staticmethod
    def _new(found: list[ExecutionSummary]) -> list[ExecutionSummary]:
        return newest_first({s.execution_id: s for s in found}.values())
