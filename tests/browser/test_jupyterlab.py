"""Guided mode in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by Playwright.

An operator's clicks, checked through boto3: the overview (00) lists every setup step as not
applied on an empty account; the Apply buttons under the bucket notebook's plans create the
buckets, and the overview then shows that step converged; the approvals cockpit's Approve
button (with a summary) lets a waiting execution go on to production; watching a run shows the
pipeline drawing's boxes change colour as the run moves. Screenshots of each step are kept in
``test-artifacts/browser/``.

The tests share one JupyterLab and one local AWS and run in file order: the overview and Apply
tests need an empty account; the approvals test then runs the rest of the setup, which the
live-drawing test reuses.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("RUNBOOK_CHROMIUM", "/usr/bin/chromium"))  # as in conftest.py
ENABLE = ("to enable it: `apt-get install chromium` (Debian's browser at /usr/bin/chromium, or "
          "set RUNBOOK_CHROMIUM) and `pip install playwright` (never `playwright install`)")
if not CHROMIUM.exists():
    pytest.skip(f"browser tests skipped: Chromium not found at {CHROMIUM}; {ENABLE}",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api",
                    reason=f"browser tests skipped: playwright is not installed; {ENABLE}")

from helpers import apply_setup, wait_until  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from runbook_lib.core.params import Params  # noqa: E402
from runbook_lib.core.session import AwsSession  # noqa: E402
from runbook_lib.operate import executions, pipeline_state  # noqa: E402
from runbook_lib.views import palette  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
KERNEL_START_MS = 120_000
RUN_ALL_MS = 240_000
PIPELINE_TIMEOUT_S = 300

# The visible notebook has finished: every code cell shows an execution count, or a cell failed
# (Run All stops there) and none is still running.
_ALL_CELLS_RAN = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent);
  const failed = panel.querySelector('[data-mime-type="application/vnd.jupyter.error"]');
  if (failed) return !prompts.some(t => t.includes('*'));
  return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t));
}"""
_SOME_CELL_STARTED = """() => [...document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def _session(lab) -> AwsSession:
    return AwsSession(target="local", region="us-east-1", endpoint_url=lab.endpoint_url)


def _snap(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _error_outputs(page) -> str:
    errors = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                          '[data-mime-type="application/vnd.jupyter.error"]')
    return "\n".join(errors.all_inner_texts())


def _kernel_connected(lab, name: str) -> bool:
    """The server's view: the notebook's kernel is idle and the page's websocket is on it."""
    with urllib.request.urlopen(f"{lab.base_url}/api/sessions?token={lab.token}",
                                timeout=10) as resp:
        sessions = json.loads(resp.read())
    return any(s["path"] == name and s["kernel"]["execution_state"] == "idle"
               and s["kernel"].get("connections", 0) >= 1 for s in sessions)


def wait_for_kernel(lab, name: str, timeout: float, what: str = "") -> None:
    """Until the server says a kernel is connected to notebook ``name`` and idle."""
    wait_until(lambda: _kernel_connected(lab, name), timeout=timeout, interval=0.5,
               what=what or f"a kernel connected to {name} (see {lab.log})")


def _open_notebook(page, lab, name: str, artifacts: Path, shot: str) -> None:
    """Open a workspace notebook and wait until its kernel is connected and idle.

    The toolbar's indicator says idle before a kernel exists, and a Run All clicked then is
    dropped, so the server is asked too.
    """
    page.goto(lab.notebook_url(name))
    wait_for_kernel(lab, name, KERNEL_START_MS / 1000)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator"
                 '[data-status="idle"]').wait_for(timeout=KERNEL_START_MS)
    _snap(page, artifacts, shot)


def _run_all_cells(page, artifacts: Path, shot: str) -> None:
    """Run > Run All Cells, then wait for every cell to have run, failing on an error output."""
    for attempt in range(3):  # a click while the kernel handshake ends can still be dropped
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(_SOME_CELL_STARTED, timeout=15_000, polling=250)
            break
        except PlaywrightTimeout:
            assert attempt < 2, "Run All Cells started no cell"
    try:
        page.wait_for_function(_ALL_CELLS_RAN, timeout=RUN_ALL_MS, polling=500)
    finally:
        _snap(page, artifacts, shot)
    errors = _error_outputs(page)
    assert not errors, f"a cell failed in JupyterLab:\n{errors}"


def _prepare_pending_approval(lab, tmp_path: Path) -> pipeline_state.PendingApproval:
    """The setup notebooks applied headless; creating the pipeline starts a run that then
    waits for the production approval."""
    apply_setup(lab.env(), tmp_path / "setup-run")
    session = _session(lab)
    pipeline = Params().names(session.account_id()).pipeline
    first = executions.wait_for_new_execution(session, pipeline, known=set(), timeout=60)
    summary = executions.wait_for_execution(session, pipeline, first.execution_id,
                                            timeout=PIPELINE_TIMEOUT_S, stop_at_approval=True)
    pending = pipeline_state.pending_approvals(session, pipeline)
    assert [p.execution_id for p in pending] == [first.execution_id], (
        f"expected one pending approval for {first.execution_id}, execution is "
        f"{summary.status}: {pipeline_state.stage_statuses(session, pipeline, first.execution_id)}")
    return pending[0]


_OVERVIEW_STATES = """() => Object.fromEntries([...document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .runbook-overview tr[data-step]')]
  .map(row => [row.dataset.step, row.querySelector('[data-status]').dataset.status]))"""


def _fresh_copy(lab, source: str, name: str) -> str:
    """A copy of a workspace notebook with no outputs: an earlier test's autosaved outputs
    must not pass for this run's."""
    import nbformat

    notebook = nbformat.read(lab.workspace / source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, lab.workspace / name)
    return name


def _overview_states(page, lab, artifacts: Path, shot: str) -> dict[str, str]:
    name = _fresh_copy(lab, "00_overview.ipynb", f"00_overview-{shot}.ipynb")
    _open_notebook(page, lab, name, artifacts, f"{shot}-opened")
    _run_all_cells(page, artifacts, shot)
    return page.evaluate(_OVERVIEW_STATES)


def test_overview_lists_every_step_not_applied_on_an_empty_account(page, lab, artifacts):
    states = _overview_states(page, lab, artifacts, "overview-1-empty")
    assert states, "the overview table was not rendered as HTML"
    checked = {k: v for k, v in states.items() if v != "read-only"}
    assert set(checked) == {"bucket", "iam", "build-project", "config", "pipeline",
                            "monitoring"}, states
    assert set(checked.values()) == {"not applied"}, states
    next_link = page.locator(".runbook-next a")
    assert next_link.get_attribute("data-notebook") == "02_artifact_bucket.ipynb"


def test_apply_button_creates_the_artifact_bucket(page, lab, artifacts):
    session = _session(lab)
    names = Params().names(session.account_id())
    s3 = session.client("s3")
    existing = [b["Name"] for page_ in s3.get_paginator("list_buckets").paginate()
                for b in page_["Buckets"]]
    assert names.artifact_bucket not in existing, "run this test before the approvals test"

    _open_notebook(page, lab, "02_artifact_bucket.ipynb", artifacts, "apply-1-opened")
    _run_all_cells(page, artifacts, "apply-2-plan")
    button = page.get_by_role("button", name="Apply artifact bucket")
    button.scroll_into_view_if_needed()
    button.click()
    page.get_by_text("applied: artifact bucket").wait_for(timeout=60_000)
    page.get_by_role("button", name="Applied").first.wait_for()
    _snap(page, artifacts, "apply-3-applied")

    versioning = s3.get_bucket_versioning(Bucket=names.artifact_bucket)
    assert versioning.get("Status") == "Enabled"

    deploy = page.get_by_role("button", name="Apply deploy buckets")
    deploy.scroll_into_view_if_needed()
    deploy.click()
    page.get_by_text("applied: deploy buckets").wait_for(timeout=60_000)
    _snap(page, artifacts, "apply-4-deploy-buckets")


def test_overview_shows_the_applied_bucket_step_converged(page, lab, artifacts):
    states = _overview_states(page, lab, artifacts, "overview-2-bucket-applied")
    assert states["bucket"] == "converged", states
    assert states["iam"] == "not applied", states
    next_link = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .runbook-next a")
    assert next_link.get_attribute("data-notebook") == "03_iam_roles.ipynb"
    next_link.click()  # JupyterLab opens the linked notebook in a tab of its own
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="03_iam_roles.ipynb").wait_for()


def test_approve_in_the_cockpit_deploys_to_production(page, lab, artifacts, tmp_path):
    if not (NOTEBOOKS / "11_approvals.ipynb").exists():
        pytest.skip("notebooks/11_approvals.ipynb does not exist yet (build it with "
                    "tools/build_notebooks.py --only 11_approvals)")
    if not (lab.workspace / "11_approvals.ipynb").exists():
        pytest.skip("the lab workspace was prepared before 11_approvals.ipynb existed")
    approval = _prepare_pending_approval(lab, tmp_path)
    summary = "staging checked in the browser test"

    _open_notebook(page, lab, "11_approvals.ipynb", artifacts, "approve-1-opened")
    _run_all_cells(page, artifacts, "approve-2-pending")
    box = page.get_by_placeholder("Summary (required)").first
    box.scroll_into_view_if_needed()
    box.fill(summary)
    # By text, not accessible name: the Font Awesome icon's glyph is part of the name.
    approve = page.locator(".runbook-approval-card button", has_text=re.compile(r"^\s*Approve\s*$"))
    approve.first.click()  # waits until the kernel has enabled it (a summary was typed)
    page.get_by_text("audit record:").first.wait_for(timeout=60_000)
    _snap(page, artifacts, "approve-3-approved")

    session = _session(lab)
    final = executions.wait_for_execution(session, approval.pipeline, approval.execution_id,
                                          timeout=PIPELINE_TIMEOUT_S)
    _snap(page, artifacts, "approve-4-done")
    stages = dict(pipeline_state.stage_statuses(session, approval.pipeline, approval.execution_id))
    assert final.status == "Succeeded", (final.status, stages)
    assert stages.get(f"Deploy-{Params().production_name}") == "Succeeded", stages
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    answered = [a for page_ in paginator.paginate(
                    pipelineName=approval.pipeline,
                    filter={"pipelineExecutionId": approval.execution_id})
                for a in page_["actionExecutionDetails"] if a["stageName"] == approval.stage]
    assert answered and answered[0]["output"]["executionResult"][
        "externalExecutionSummary"] == summary


_ACTION_BOXES = """() => [...document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .runbook-live-pipeline g.action')]
  .map(g => [g.dataset.action, g.dataset.status, g.querySelector('rect').getAttribute('fill')])"""


def _watch_copy(lab) -> str:
    """The run-and-watch notebook with watch='start': following a run it starts itself."""
    import nbformat

    source = nbformat.read(lab.workspace / "09_run_and_watch.ipynb", as_version=4)
    for code in (c for c in source.cells if c.cell_type == "code"):
        code.outputs, code.execution_count = [], None
    cell = next(c for c in source.cells if "parameters" in c.metadata.get("tags", []))
    assert 'watch: str = "latest"' in cell.source
    cell.source = cell.source.replace('watch: str = "latest"', 'watch: str = "start"')
    name = "09_run_and_watch_start.ipynb"
    nbformat.write(source, lab.workspace / name)
    return name


def test_watching_a_run_colours_the_drawing_as_it_moves(page, lab, artifacts):
    """The run is followed until it waits for the production approval (nobody is made to wait
    on a human): by then its boxes went from pending to running to succeeded, and the view
    links to the approvals cockpit."""
    if not (NOTEBOOKS / "11_approvals.ipynb").exists():
        pytest.skip("runs after the approvals test, which sets the pipeline up")
    name = _watch_copy(lab)
    _open_notebook(page, lab, name, artifacts, "live-1-opened")
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()

    seen: dict[str, set[str]] = {}
    shot_running = False
    drawing = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .runbook-live-pipeline")

    def look_and_ran() -> bool:
        nonlocal shot_running
        look = page.evaluate(_ACTION_BOXES)
        for action, status, fill in look:
            seen.setdefault(action, set()).add(f"{status} {fill}")
        if not shot_running and {"Succeeded", "InProgress"} <= {s for _, s, _ in look}:
            drawing.scroll_into_view_if_needed()
            _snap(page, artifacts, "live-2-running")  # some boxes done, one running
            shot_running = True
        return page.evaluate(_ALL_CELLS_RAN)

    wait_until(look_and_ran, timeout=PIPELINE_TIMEOUT_S, interval=0.25,
               what="the watch notebook's cells to finish", describe=lambda: seen)
    if drawing.count():
        drawing.scroll_into_view_if_needed()
    _snap(page, artifacts, "live-3-waiting-for-approval")
    assert not _error_outputs(page), _error_outputs(page)
    assert seen, "the live pipeline drawing never appeared"
    changed = [a for a, looks in seen.items() if len(looks) >= 2]
    assert changed, f"no box changed colour: {seen}"
    fills = {look.split()[-1] for looks in seen.values() for look in looks}
    assert {palette.colour("InProgress"), palette.colour("Succeeded")} <= fills, seen
    final = dict((a, s) for a, s, _ in page.evaluate(_ACTION_BOXES))
    assert final[next(a for a in final if a.startswith("Approve"))] == "InProgress", final
    assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                        "a[href$='11_approvals.ipynb'], "
                        ".jp-NotebookPanel:not(.lm-mod-hidden) a:has-text('11_approvals')"
                        ).count() >= 1
