"""Papermill's notebook engine, saving the executed notebook at most every few seconds.

Papermill writes (and validates) the whole executed notebook as each cell starts and again as it
ends: a quarter of ``runbook run``'s own CPU over a suite of fifteen notebooks. The saves are
there so that a notebook whose kernel dies mid-run still leaves its output; papermill saves once
more when the notebook ends, however it ends (a failed cell, a dead kernel), so between cells a
save every :data:`SAVE_EVERY` seconds keeps that promise. Only a ``runbook`` process killed
outright leaves a notebook that lacks its last few seconds of output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE_NAME = "runbook"
SAVE_EVERY = 5.0  # seconds between two saves at cell edges


class SpacedSaves(NotebookExecutionManager):
    """Papermill's execution record, saved at the notebook's start and end, and at a cell's
    start or end only when the last save is :data:`SAVE_EVERY` seconds old."""

    _at_cell_edge = False

    @contextmanager
    def _cell_edge(self) -> Iterator[None]:
        self._at_cell_edge = True
        try:
            yield
        finally:
            self._at_cell_edge = False

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        with self._cell_edge():
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        with self._cell_edge():
            super().cell_complete(cell, cell_index, **kwargs)

    def save(self, **kwargs: Any) -> None:
        if self._at_cell_edge and (
                self.now() - self.last_save_time).total_seconds() < SAVE_EVERY:
            return
        super().save(**kwargs)


class SpacedSavesEngine(NBClientEngine):
    """nbclient's engine with :class:`SpacedSaves` as its record (papermill's own
    ``Engine.execute_notebook``, which names its record class, with that class swapped)."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None,
                         progress_bar: bool = True, log_output: bool = False,
                         autosave_cell_every: int = 30, **kwargs: Any) -> Any:
        nb_man = SpacedSaves(nb, output_path=output_path, progress_bar=progress_bar,
                             log_output=log_output, autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


papermill_engines.register(ENGINE_NAME, SpacedSavesEngine)
