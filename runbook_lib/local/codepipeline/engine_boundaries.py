"""Stage boundaries: where an execution waits its turn before it enters a stage.

A mixin of :class:`runbook_lib.local.codepipeline.engine.PipelineEngine`. An execution waits
while the inbound transition is disabled, while an older QUEUED execution runs, or (SUPERSEDED
mode) while the stage holds another execution; a newer execution arriving at the same boundary
supersedes the one waiting there. Waits use the engine's one condition, so nothing polls.
"""

from __future__ import annotations

from runbook_lib.local.codepipeline.engine_host import EngineHost
from runbook_lib.local.codepipeline.records import ACTIVE, ExecutionKey


class StageBoundaries(EngineHost):
    """Turn-taking at stage boundaries (see the module docstring)."""

    def wait_turn(self, key: ExecutionKey) -> bool:
        """QUEUED: run after every older execution has ended; False when stopped meanwhile."""
        with self.changed:
            while not self.closing and not self._stop_flag(key.execution_id).is_set():
                executions = self.book(key.region, key.pipeline)["executions"]
                mine = executions.get(key.execution_id)
                if mine is None or mine.get("stopMode"):
                    return False
                if not any(e["seq"] < mine["seq"] and e["status"] in ACTIVE
                           for e in executions.values()):
                    return True
                self.changed.wait()
        return False

    def enter(self, key: ExecutionKey, stage: str) -> bool:
        """Wait at the stage boundary; False when stopped, superseded or shutting down."""
        spot = (key.region, key.pipeline, stage)
        with self.changed:
            execution = self.book(key.region, key.pipeline)["executions"].get(key.execution_id)
            if execution is None:
                return False
            superseding = (execution["executionMode"] == "SUPERSEDED"
                           and execution["executionType"] == "STANDARD")
            if superseding:
                older = self._waiting.get(spot)
                if older and older != key.execution_id:
                    self._superseded.add(older)  # a newer execution takes over the boundary
                self._waiting[spot] = key.execution_id
            execution["waitingAt"] = stage
            self.changed.notify_all()
            saved = False
            while True:
                if self.closing or self._stop_flag(key.execution_id).is_set():
                    return False
                if execution.get("stopMode") or key.execution_id in self._superseded:
                    return False
                free = self._occupant.get(spot) in (None, key.execution_id) or not superseding
                if free and self.transition_enabled(key.region, key.pipeline, stage):
                    break
                if not saved:  # a wait may last days; one that ends at once is not worth a save
                    self.store.save()
                    saved = True
                self.changed.wait()
            if self._waiting.get(spot) == key.execution_id:
                del self._waiting[spot]
            execution["waitingAt"] = None
            self.occupy(key, stage)
            return True

    def occupy(self, key: ExecutionKey, stage: str) -> None:
        with self.lock:
            self._occupant[(key.region, key.pipeline, stage)] = key.execution_id

    def release(self, key: ExecutionKey, stage: str) -> None:
        """A finished stage is free for the next execution (the finished one now waits at
        the next boundary, where a newer one may supersede it)."""
        with self.lock:
            if self._occupant.get((key.region, key.pipeline, stage)) == key.execution_id:
                del self._occupant[(key.region, key.pipeline, stage)]
            self.changed.notify_all()

    def leave_all(self, key: ExecutionKey) -> None:
        with self.lock:
            for table in (self._occupant, self._waiting):
                for spot, holder in list(table.items()):
                    if holder == key.execution_id:
                        del table[spot]
            self._superseded.discard(key.execution_id)
            self.changed.notify_all()

    def end_waiting(self, key: ExecutionKey) -> None:
        """An execution that never got past a boundary: superseded, stopped, or shutdown."""
        if self.closing:
            return
        with self.lock:
            superseded = key.execution_id in self._superseded
        if superseded:
            self.finish(key, "Superseded",
                        "A newer execution superseded this one at a stage boundary")
        else:
            self.finish(key, "Stopped", "")
