"""The setup overview: step states from the steps' own plans, read over real HTTP from the local
AWS; `runbook status` exits 0 converged, 2 after a bucket setting is changed by hand."""

from __future__ import annotations

import pytest

from runbook_lib.app import cli, suite
from runbook_lib.core import plan as plans
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import overview
from runbook_lib.views.overview import OverviewView

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


def test_an_empty_account_lists_every_step_not_applied(session, params, names):
    found = overview.read_overview(session, params, names)
    states = {s.step.name: s.state for s in found.steps}
    assert {k for k, v in states.items() if v != overview.READ_ONLY} == {
        "bucket", "iam", "build-project", "config", "pipeline", "monitoring"}
    assert set(states.values()) == {overview.NOT_APPLIED, overview.READ_ONLY}
    assert found.next_step.notebook == "02_artifact_bucket"
    assert "does not exist yet" in found.run.note
    assert session.recorder.mutating_count == 0
    text = OverviewView(found).text()
    assert "Artifact bucket        02_artifact_bucket.ipynb     not applied" in text
    assert "data-status='not applied'" in OverviewView(found).html()


def test_the_next_step_reads_the_steps_up_to_it_only(session, params, names):
    """A setup notebook's Next link: the same answer as reading every step, from the steps up
    to the first one still to do (in an empty account the bucket, after the read-only
    preflight)."""
    found = overview.read_steps_to_next(session, params, names)
    assert [s.step.name for s in found] == ["preflight", "bucket"]
    assert found[-1].state == overview.NOT_APPLIED
    run = overview.LatestRun()
    assert overview.next_step(found, run) == overview.next_step(
        overview.read_steps(session, params, names), run)


def _apply_setup(session: AwsSession, params, names) -> None:
    for step in overview.SETUP_STEPS:
        for fn in step.plans:
            fn(session, params, names).apply()


def test_runbook_status_exit_codes_follow_drift(session, params, names, capsys, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HEADLESS", "1")  # local placeholders for secrets, no prompt
    _apply_setup(session, params, names)
    argv = ["status", "-p", f"app_name={params.app_name}"]
    assert cli.main(argv) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "changes pending" not in out and "not applied" not in out
    assert out.count(" converged ") == sum(1 for s in overview.SETUP_STEPS if s.plans), out

    session.client("s3").put_bucket_versioning(
        Bucket=names.artifact_bucket, VersioningConfiguration={"Status": "Suspended"})
    assert cli.main(argv) == 2
    out = capsys.readouterr().out
    assert f"update s3 bucket {names.artifact_bucket} versioning" in out
    assert "changes pending" in out


def test_runbook_status_exits_1_when_a_step_cannot_be_read(session, params, names, capsys):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=names.artifact_bucket)  # a look-alike without ownership tags
    assert cli.main(["status", "-p", f"app_name={params.app_name}"]) == 1
    captured = capsys.readouterr()
    assert "not owned" in captured.out and "not managed by this suite" in captured.err
