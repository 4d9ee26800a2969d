"""The executed notebook is saved at its start and end, and between cells at most every
SAVE_EVERY seconds; a notebook whose kernel dies still leaves the output of the cells it ran."""

from __future__ import annotations

import datetime as dt

import nbformat
import papermill as pm
import pytest

from runbook_lib.app import notebook_saves, runner


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def saves(monkeypatch) -> list[int]:
    written: list[int] = []
    monkeypatch.setattr("papermill.engines.write_ipynb", lambda nb, path: written.append(1))
    return written


def _manager(tmp_path, clock: _Clock, cells: int) -> notebook_saves.SpacedSaves:
    nb = _notebook(*["1"] * cells)
    nb.metadata.papermill = {}  # as papermill's execute_notebook prepares it
    manager = notebook_saves.SpacedSaves(nb, output_path=str(tmp_path / "out.ipynb"),
                                         progress_bar=False)
    manager.now = lambda: clock.now
    manager.last_save_time = clock.now
    return manager


def test_cells_close_together_are_not_saved_one_by_one(tmp_path, saves):
    clock = _Clock()
    manager = _manager(tmp_path, clock, cells=10)
    manager.notebook_start()
    assert len(saves) == 1
    for index, cell in enumerate(manager.nb.cells):
        manager.cell_start(cell, index)
        clock.advance(0.1)
        manager.cell_complete(cell, index)
    assert len(saves) == 1  # twenty cell edges within a second: none saved
    manager.notebook_complete()
    assert len(saves) == 2  # the end always saves
    assert [c.metadata.papermill["status"] for c in manager.nb.cells] == ["completed"] * 10


def test_a_cell_edge_saves_once_the_last_save_is_old_enough(tmp_path, saves):
    clock = _Clock()
    manager = _manager(tmp_path, clock, cells=3)
    manager.notebook_start()
    cells = manager.nb.cells
    manager.cell_start(cells[0], 0)
    clock.advance(notebook_saves.SAVE_EVERY)
    manager.cell_complete(cells[0], 0)  # a slow cell: its end is saved
    assert len(saves) == 2
    manager.cell_start(cells[1], 1)
    assert len(saves) == 2
    manager.save()  # papermill's own saves (autosave of a long cell) are never skipped
    assert len(saves) == 3


def test_a_notebook_whose_kernel_dies_keeps_the_output_of_its_first_cells(tmp_path):
    notebook = tmp_path / "dies.ipynb"
    nbformat.write(_notebook("print('first cell ran')", "print('second cell ran')",
                             "import os; os._exit(1)", "print('never')"), notebook)
    output = tmp_path / "dies.out.ipynb"
    with pytest.raises((pm.PapermillExecutionError, RuntimeError)):
        runner.execute_notebook(notebook, output, {})
    executed = nbformat.read(output, as_version=4)
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in executed.cells]
    assert printed[:2] == ["first cell ran\n", "second cell ran\n"]
    assert printed[3] == ""


def test_the_suite_runs_on_the_spaced_saves_engine():
    engine = pm.engines.papermill_engines.get_engine(notebook_saves.ENGINE_NAME)
    assert engine is notebook_saves.SpacedSavesEngine
