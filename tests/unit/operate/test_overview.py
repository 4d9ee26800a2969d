"""The setup overview's pure parts: a step's state from its plans, drifted aspects, the steps
and the next one. Read over real HTTP: tests/integration/operate/test_overview.py."""

from __future__ import annotations

import pytest

from runbook_lib.app import suite
from runbook_lib.core import plan as plans
from runbook_lib.core.plan import Plan
from runbook_lib.operate import overview

BUCKET_STEP = next(s for s in overview.SETUP_STEPS if s.name == "bucket")


def _noop() -> None:
    return None


def _plan(*changes) -> Plan:
    return Plan("p", list(changes))


@pytest.mark.parametrize(("changes", "state", "count"), [
    ([plans.create("a", _noop), plans.create("a b", _noop)], overview.NOT_APPLIED, 2),
    ([plans.unchanged("a"), plans.unchanged("a b")], overview.CONVERGED, 0),
    ([plans.unchanged("a"), plans.update("a b", ["x: 1 -> 2"], _noop)], overview.PENDING, 1),
    ([plans.unchanged("a"), plans.create("c", _noop)], overview.PENDING, 1),
], ids=["nothing exists", "all unchanged", "one aspect drifted", "partly applied"])
def test_state_of_a_step_from_its_plans(changes, state, count):
    found = overview.state_of(BUCKET_STEP, [_plan(*changes)])
    assert (found.state, found.changes) == (state, count)


def test_drifted_aspects_name_the_change():
    found = overview.state_of(BUCKET_STEP, [_plan(
        plans.unchanged("s3 bucket b"),
        plans.update("s3 bucket b versioning", ["Suspended -> Enabled"], _noop))])
    assert found.aspects == ["update s3 bucket b versioning"]


def test_steps_match_the_suite_notebooks():
    files = {nb.filename.removesuffix(".ipynb"): nb for nb in suite.NOTEBOOKS}
    for step in overview.SETUP_STEPS:
        assert step.notebook in files and files[step.notebook].name == step.name


def test_next_step_prefers_the_first_unconverged_step():
    steps = [overview.StepState(s, overview.CONVERGED) for s in overview.SETUP_STEPS]
    assert overview.next_step(steps, overview.LatestRun()).notebook == "09_run_and_watch"
    steps[4] = overview.StepState(steps[4].step, overview.PENDING, 1, ["update x"])
    assert overview.next_step(steps, overview.LatestRun()).notebook == steps[4].step.notebook
    failed = overview.LatestRun("e1", "Failed", [("Build", "Failed")])
    steps[4].state = overview.CONVERGED
    assert overview.next_step(steps, failed).notebook == "10_build_logs"
