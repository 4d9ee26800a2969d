"""The setup overview: step states from the steps' own plans, read over real HTTP from the local
AWS; `runbook status` exits 0 converged, 2 after a bucket setting is changed by hand."""

from __future__ import annotations

from runbook_lib.app import cli
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import overview
from runbook_lib.views.overview import OverviewView


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
