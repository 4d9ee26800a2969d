"""Guided-mode pieces that keep the path honest: outputs re-rendered after a click, no
header-only tables, a Next link at the end, JupyterLab's settings for `runbook lab`."""

from __future__ import annotations

import json

from runbook_lib.app import lab_settings
from runbook_lib.core.plan import Change, Plan
from runbook_lib.operate import approvals, audit
from runbook_lib.views import display, nb


def test_an_empty_table_says_so_instead_of_showing_only_headers():
    table = display.Table([], ["a", "b"], empty="the pipeline has not run yet")
    assert table.text() == "the pipeline has not run yet"
    assert "runbook-empty" in table.html() and "<th>" not in table.html()
    assert "<th>a</th>" in display.Table([[1, 2]], ["a", "b"], empty="none").html()


def test_next_link_is_relative_and_says_where_to_go():
    link = display.NextLink("11_approvals", "answer the approval")
    assert link.text() == "next: answer the approval (11_approvals.ipynb)"
    assert "href='11_approvals.ipynb'" in link.html() and "target=" not in link.html()
    assert "runbook-next" in link.html()


def test_apply_plan_applies_then_re_renders_live_outputs(monkeypatch, capsys):
    """After Apply, an output that showed the state before is shown again (not contradicted)."""
    monkeypatch.delenv("RUNBOOK_HEADLESS", raising=False)
    state = {"bucket": "(does not exist)"}
    updates = []

    class Handle:
        def update(self, obj):
            updates.append(obj.text())

    monkeypatch.setattr("IPython.display.display", lambda *_a, **_k: Handle())
    nb._LIVE.clear()
    nb.live_table("bucket state", lambda: [("bucket", state["bucket"])], ["aspect", "setting"])
    plan = Plan("bucket", [Change("bucket b", "create",
                                  apply_fn=lambda: state.update(bucket="versioning Enabled"))])
    nb.apply_plan(plan)
    assert "applied: bucket" in capsys.readouterr().out
    assert updates and "versioning Enabled" in updates[-1]
    nb._LIVE.clear()


def test_a_table_marked_last_is_read_after_the_run_the_others_follow(monkeypatch):
    monkeypatch.delenv("RUNBOOK_HEADLESS", raising=False)
    order = []

    class Handle:
        def update(self, obj):
            order.append(obj.text())

    monkeypatch.setattr("IPython.display.display", lambda *_a, **_k: Handle())
    nb._LIVE.clear()
    nb._LIVE_LAST.clear()
    nb.live_text("deployments", lambda: "deployments", first="before")
    nb._LIVE_LAST["deployments"] = nb._LIVE.pop("deployments")
    nb.live_text("outcome", lambda: "outcome")
    nb.refresh()
    assert order == ["outcome", "deployments"]
    nb._LIVE.clear()
    nb._LIVE_LAST.clear()


def test_a_failing_refresh_says_why_instead_of_raising(monkeypatch, capsys):
    nb._LIVE.clear()
    nb._LIVE["broken"] = lambda: (_ for _ in ()).throw(RuntimeError("no access"))
    nb.refresh()
    assert "could not refresh broken: no access" in capsys.readouterr().out
    nb._LIVE.clear()


def test_the_cockpit_does_not_say_nothing_was_decided_under_its_buttons():
    assert "decide on the cards above" in approvals.decision_text(None, "b", interactive=True)
    assert "no decision given" in approvals.decision_text(None, "b")


def test_lab_settings_turn_news_off_and_shut_kernels_down(tmp_path):
    args = lab_settings.lab_arguments(tmp_path / "settings")
    overrides = json.loads((tmp_path / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert overrides["@jupyterlab/notebook-extension:tracker"]["kernelShutdown"] is True
    assert f"--LabApp.app_settings_dir={tmp_path / 'settings'}" in args
    assert any(a.startswith("--MappingKernelManager.cull_idle_timeout=") for a in args)


def test_the_local_approver_is_the_os_user(monkeypatch):
    class Local:
        is_local = True

        def caller_arn(self):
            return "arn:aws:sts::123456789012:user/moto"

    monkeypatch.setattr("getpass.getuser", lambda: "ana")
    assert audit.operator_identity(Local()) == "arn:aws:sts::123456789012:user/ana"


def test_the_pipeline_drawing_says_created_once_it_exists():
    from runbook_lib.setup.pipeline_shape import PipelineShape
    from runbook_lib.views import plots

    planned = PipelineShape("p", "V2", "QUEUED", (), deployed=False)
    created = PipelineShape("p", "V2", "QUEUED", (), version=1)
    assert "planned, not yet created" in plots.pipeline_title(planned)
    assert "created, version 1" in plots.pipeline_title(created)
    assert plots.LABEL_POINTS >= 11
