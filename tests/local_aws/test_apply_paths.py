"""Every Apply button applies exactly what ``apply=True`` applies: one code path.

Each setup notebook shows its plans with ``nb.show_plan(plan, apply)``; the Apply button under a
plan (JupyterLab) and ``apply=True`` (headless) both end in ``nb.apply_plan``. Here each setup
step's plans are applied both ways, for two fresh apps on the local AWS, and the mutating calls
each way made are compared (same operations, same counts), then both are re-planned: converged.
Notebook 07's plan registers the local source and its pipeline's creation starts the first run,
either way. A static check keeps ``apply`` out of any other call in the setup notebooks.
"""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest

from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import executions, history
from runbook_lib.setup import bucket, codebuild, config_store, iam, monitoring, release_alarm
from runbook_lib.views import nb, widgets

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "notebooks" / "src"
SETUP_NOTEBOOKS = ("02_artifact_bucket", "03_iam_roles", "05_build_project",
                   "06_config_and_secrets", "07_pipeline", "08_monitoring")
# In notebook order; 07's plan is the local source and the pipeline, as the notebook shows it.
PLANS = (("02", bucket.plan_artifact_bucket), ("02", bucket.plan_deploy_buckets),
         ("03", iam.plan_roles), ("05", codebuild.plan_build_project),
         ("06", config_store.plan_config), ("07", history.plan_pipeline_and_source),
         ("08", monitoring.plan_monitoring), ("08", release_alarm.plan_release_alarm))


@pytest.mark.parametrize("notebook", SETUP_NOTEBOOKS)
def test_apply_reaches_aws_only_through_show_plan(notebook):
    """``apply`` is passed to nothing but ``nb.show_plan``: no second way of applying."""
    tree = ast.parse((SRC / f"{notebook}.py").read_text())
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            if any(isinstance(a, ast.Name) and a.id == "apply" for a in args):
                uses.append(ast.unparse(node.func))
    assert uses and set(uses) == {"nb.show_plan"}, uses


def _click_apply(monkeypatch, plan) -> None:
    monkeypatch.setattr("IPython.display.display", lambda *_a, **_k: None)
    box = widgets.offer_apply(plan, nb.apply_plan)
    button = box.children[0]
    assert not button.disabled, box.children
    button.click()
    assert button.description == "Applied", box.children[1].outputs


def _app(local_aws, tag: str) -> tuple[AwsSession, Params]:
    app = f"ap{tag}-{uuid.uuid4().hex[:5]}"
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    return session, Params(app_name=app, source_repo=f"acme/{app}", secret_names=(),
                           secure_config_names=(), cache_mode="none",
                           gate_alarm_wait_minutes=1)


def _apply_all(session, params, how) -> dict[str, dict]:
    """Each step's plans applied ``how``; the mutating calls each step made, by notebook."""
    names = params.names()
    calls: dict[str, dict] = {}
    for notebook, plan_fn in PLANS:
        plan = plan_fn(session, params, names)
        session.recorder.reset()
        how(plan)
        found = calls.setdefault(notebook, {})
        for key, count in session.recorder.mutating.items():
            found[key] = found.get(key, 0) + count
    return calls


def test_apply_button_and_apply_true_make_the_same_calls(local_aws, monkeypatch, capsys):
    monkeypatch.setenv("RUNBOOK_HEADLESS", "1")
    session_a, params_a = _app(local_aws, "a")
    by_parameter = _apply_all(session_a, params_a, lambda plan: nb.show_plan(plan, True))
    monkeypatch.delenv("RUNBOOK_HEADLESS")
    session_b, params_b = _app(local_aws, "b")
    by_button = _apply_all(session_b, params_b, lambda plan: _click_apply(monkeypatch, plan))
    assert by_button == by_parameter
    assert by_parameter["07"].get(("codepipeline", "CreatePipeline")) == 1
    for session, params in ((session_a, params_a), (session_b, params_b)):
        names = params.names()
        for _notebook, plan_fn in PLANS:
            plan = plan_fn(session, params, names)
            assert not plan.has_changes, plan.render()
        first = executions.wait_for_new_execution(session, names.pipeline, set(), timeout=60)
        assert first.execution_id  # the local source was registered before the pipeline
    assert "applied: pipeline" in capsys.readouterr().out
