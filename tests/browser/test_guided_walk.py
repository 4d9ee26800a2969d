"""The whole guided path in a real browser, as a new operator walks it, with default parameters.

From an empty local AWS: the overview (00), then each Next link; every Apply button offered is
clicked (no parameter typed; a secret prompt is answered with Enter, which gives the local
placeholder); 09 follows the first run to the production approval; 11 approves it with a
summary and the run deploys; with the sample history pushed, 10 names the failing test and its
"Jump to first error" shows the line; 13 rolls production back and verifies it; 00 then shows
every step converged. Any traceback in any output fails the walk, and so does an output that
contradicts a click. Screenshots of each step are kept in ``test-artifacts/browser/guided-*``.

Slow (about ten minutes): it runs in ``make test`` and CI, not in a quick loop.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from helpers import wait_until
from test_jupyterlab import (
    CHROMIUM,
    PlaywrightTimeout,
    _error_outputs,
    _fresh_copy,
    _session,
    _snap,
    wait_for_kernel,
)

from runbook_lib.core.params import Params
from runbook_lib.operate import executions, history, summaries

if not CHROMIUM.exists():  # test_jupyterlab skips its module; the import above would too
    pytest.skip("browser tests skipped: Chromium not found", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
KERNEL_S = 120
RUN_S = 600
# Notebooks another change owns; until they end with a Next link (nb.next_setup_step), the walk
# goes on from the overview's Next link instead.
SETUP = ("02_artifact_bucket.ipynb", "03_iam_roles.ipynb", "04_buildspec.ipynb",
         "05_build_project.ipynb", "06_config_and_secrets.ipynb", "07_pipeline.ipynb",
         "08_monitoring.ipynb")
# Words that would contradict an Apply or a decision shown right above them.
CONTRADICTIONS = ("(does not exist)", "no rollback started", "no decision given",
                  "plan only: would register", "apply failed", "could not refresh")

_RUNNING = f"""() => {{
  const panel = document.querySelector('{PANEL}');
  if (!panel) return true;
  return [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some(p => p.textContent.includes('*'));
}}"""
_ALL_RAN = f"""() => {{
  const panel = document.querySelector('{PANEL}');
  if (!panel) return false;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent);
  if (panel.querySelector('[data-mime-type="application/vnd.jupyter.error"]'))
    return !prompts.some(t => t.includes('*'));
  return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t));
}}"""


def _panel_text(page) -> str:
    return page.locator(f"{PANEL} .jp-OutputArea").all_inner_texts().__str__()


def _check_outputs(page, where: str, clicked: bool = True) -> None:
    """No traceback; after a click, nothing that contradicts it."""
    errors = _error_outputs(page)
    text = _panel_text(page)
    assert not errors and "Traceback" not in text, f"{where}: an output shows an error:\n{errors}"
    said = [c for c in CONTRADICTIONS if c in text] if clicked else []
    assert not said, f"{where}: outputs say {said} after the clicks above them"


def _wait_kernel(page, lab, name: str) -> None:
    wait_for_kernel(lab, name, KERNEL_S)
    page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
        timeout=KERNEL_S * 1000)


def _run_all(page, artifacts, shot: str, timeout_s: float = RUN_S) -> None:
    """Run All Cells; a hidden prompt (a secret's value) is answered with Enter (no value:
    the local placeholder); wait until every cell ran."""
    for attempt in range(3):
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(_RUNNING, timeout=15_000, polling=250)
            break
        except Exception:  # noqa: BLE001 (a click during the kernel handshake can be dropped)
            assert attempt < 2, "Run All Cells started no cell"

    def all_ran() -> bool:
        stdin = page.locator(f"{PANEL} .jp-Stdin-input")
        if stdin.count():
            stdin.first.press("Enter")
        return page.evaluate(_ALL_RAN)

    wait_until(all_ran, timeout=timeout_s, interval=0.5, what=f"{shot}: every cell to run")
    _snap(page, artifacts, shot)


def _wait_kernel_idle(lab, name: str) -> None:
    """A click's callback goes on re-rendering the outputs below it after the button changed;
    the server sees the kernel busy until it is done (the toolbar's indicator tracks only
    cells, not widget callbacks)."""
    wait_for_kernel(lab, name, RUN_S, what=f"the kernel of {name} to be idle again")


def _apply_everything(page, lab, name: str, artifacts, shot: str) -> int:
    """Click every enabled Apply button, top to bottom, and wait for each to say Applied."""
    offered = page.locator(f"{PANEL} button:not([disabled])", has_text=re.compile(r"^\s*Apply "))
    applied = page.locator(f"{PANEL} button", has_text=re.compile(r"^\s*Applied\s*$"))
    clicked = 0
    while offered.count():
        button = offered.first
        button.scroll_into_view_if_needed()
        button.click()
        clicked += 1
        applied.nth(clicked - 1).wait_for(timeout=RUN_S * 1000)
        _wait_kernel_idle(lab, name)
    page.wait_for_function(_ALL_RAN, timeout=RUN_S * 1000)
    _snap(page, artifacts, shot)
    return clicked


def _follow_next(page, lab, artifacts, shot: str, current: str = "") -> str:
    """Click the notebook's Next link; JupyterLab opens (or reveals) that notebook. After an
    Apply the link is re-rendered: it must move on from ``current``."""
    link = page.locator(f"{PANEL} .runbook-next a").last
    target = wait_until(lambda: link.get_attribute("data-notebook"),
                        lambda points_to: points_to != current, timeout=60, interval=0.5,
                        what=f"the Next link of {current} to point onwards")
    link.scroll_into_view_if_needed()
    link.click()
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text=target).wait_for()
    _wait_kernel(page, lab, target)
    _snap(page, artifacts, shot)
    return target


def _overview(page, lab, artifacts, shot: str) -> dict[str, str]:
    name = _fresh_copy(lab, "00_overview.ipynb", f"00_overview-{shot}.ipynb")
    page.goto(lab.notebook_url(name))
    _wait_kernel(page, lab, name)
    _run_all(page, artifacts, f"guided-{shot}")
    _check_outputs(page, name)
    return page.evaluate(f"""() => Object.fromEntries([...document.querySelectorAll(
      '{PANEL} .runbook-overview tr[data-step]')].map(row =>
      [row.dataset.step, row.querySelector('[data-status]').dataset.status]))""")


def _walk_setup(page, lab, artifacts) -> None:
    """From the overview, Next after Next, applying every plan, until the setup is done."""
    states = _overview(page, lab, artifacts, "00-empty")
    assert set(v for v in states.values() if v != "read-only") == {"not applied"}, states
    current = _follow_next(page, lab, artifacts, "guided-01-next")
    seen = []
    while current in SETUP:
        assert current not in seen, f"the Next links went round in a circle: {seen}"
        seen.append(current)
        stem = current.removesuffix(".ipynb")
        _run_all(page, artifacts, f"guided-{stem}-1-plan")
        _check_outputs(page, current, clicked=False)
        _apply_everything(page, lab, current, artifacts, f"guided-{stem}-2-applied")
        _check_outputs(page, current)
        if stem == "07_pipeline":
            assert "registered as acme/sample-app" in _panel_text(page)
        assert page.locator(f"{PANEL} .runbook-next a").count(), f"{current} has no Next link"
        current = _follow_next(page, lab, artifacts, f"guided-{stem}-3-next", current)
    assert {"02_artifact_bucket.ipynb", "07_pipeline.ipynb"} <= set(seen), seen
    assert current in ("09_run_and_watch.ipynb", "11_approvals.ipynb"), current
    if current == "11_approvals.ipynb":  # the first run reached its approval already
        page.goto(lab.notebook_url("09_run_and_watch.ipynb"))
        _wait_kernel(page, lab, "09_run_and_watch.ipynb")


def _watch_and_approve(page, lab, artifacts, pipeline: str) -> None:
    """09 with defaults follows the run creating the pipeline started, to its approval; its
    Next link leads to 11, where Approve (with a summary) lets it deploy."""
    _run_all(page, artifacts, "guided-09-1-watched")
    _check_outputs(page, "09_run_and_watch.ipynb", clicked=False)
    assert "waits for approval at Approve-production" in _panel_text(page)
    assert _follow_next(page, lab, artifacts, "guided-09-2-next") == "11_approvals.ipynb"
    _run_all(page, artifacts, "guided-11-1-pending")
    summary = "staging checked on the guided path"
    box = page.get_by_placeholder("Summary (required)").first
    box.scroll_into_view_if_needed()
    box.fill(summary)
    page.locator(".runbook-approval-card button",
                 has_text=re.compile(r"^\s*Approve\s*$")).first.click()
    page.get_by_text("audit record:").first.wait_for(timeout=60_000)
    _wait_kernel_idle(lab, "11_approvals.ipynb")
    _snap(page, artifacts, "guided-11-2-approved")
    _check_outputs(page, "11_approvals.ipynb")
    session = _session(lab)
    pending = summaries.list_executions(session, pipeline, limit=1)[0]
    final = executions.wait_for_execution(session, pipeline, pending.execution_id, timeout=RUN_S)
    assert final.status == "Succeeded", final


def _triage_names_the_failing_test(page, lab, artifacts) -> None:
    """The sample history (pushed headless, as `make run` does): 10 with defaults picks the
    broken build, names its test, and Jump to first error shows the error line."""
    session = _session(lab)
    params = Params()
    steps = history.run_canonical_history(session, params, params.names(session.account_id()),
                                          timeout=RUN_S, rehearse_gates=False)
    broken = next(s for s in steps if s.failing_tests)
    page.goto(lab.notebook_url("10_build_logs.ipynb"))
    _wait_kernel(page, lab, "10_build_logs.ipynb")
    _run_all(page, artifacts, "guided-10-1-triage")
    _check_outputs(page, "10_build_logs.ipynb", clicked=False)
    text = _panel_text(page)
    assert broken.execution_id in text and broken.failing_tests[0] in text, text[-3000:]
    assert "Downloaded source from ***" not in text
    # the error line may already be in the first page of lines, below the scroll box's fold,
    # before the kernel answers the click: wait for the view to show it, not for it to exist
    in_view = f"""() => {{
      const error = document.querySelector('{PANEL} .runbook-log-view .runbook-log-error');
      if (!error) return false;
      const line = error.getBoundingClientRect();
      const box = error.parentElement.getBoundingClientRect();
      return line.top >= box.top && line.bottom <= box.bottom; }}"""
    jump = page.get_by_role("button", name=re.compile("Jump to first error"))
    jump.scroll_into_view_if_needed()
    assert not page.evaluate(in_view), "the error line is in view before the jump"
    jump.click()
    try:
        page.wait_for_function(in_view, timeout=30_000, polling=250)
        inside = True
    except PlaywrightTimeout:
        inside = False
    _snap(page, artifacts, "guided-10-2-jumped")
    assert inside, "the first error line is not in view 30 s after Jump to first error"


def _roll_back(page, lab, artifacts) -> None:
    page.goto(lab.notebook_url("13_rollback.ipynb"))
    _wait_kernel(page, lab, "13_rollback.ipynb")
    _run_all(page, artifacts, "guided-13-1-plan")
    _check_outputs(page, "13_rollback.ipynb", clicked=False)
    assert _apply_everything(page, lab, "13_rollback.ipynb", artifacts,
                             "guided-13-2-rolled-back") == 1
    page.locator(f"{PANEL} .jp-OutputArea", has_text=re.compile(
        r"rollback execution \S+ succeeded")).first.wait_for(timeout=RUN_S * 1000)
    _snap(page, artifacts, "guided-13-3-verified")
    _check_outputs(page, "13_rollback.ipynb")
    text = _panel_text(page)
    assert re.search(r"rollback execution \S+ succeeded", text), text[-2000:]
    assert "verification OK: production serves" in text, text[-2000:]


def test_runbook_lab_configures_jupyterlab_for_a_path(lab):
    """`runbook lab`'s defaults: a closed notebook's kernel is shut down, and no news question
    (JupyterLab's settings API serves the schema with them; the culling options are checked in
    tests/unit/views/test_guided_path.py)."""
    def schema_default(plugin: str, key: str):
        url = f"{lab.base_url}/lab/api/settings/{plugin}?token={lab.token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read())["schema"]["properties"][key].get("default")

    assert schema_default("@jupyterlab/notebook-extension:tracker", "kernelShutdown") is True
    assert schema_default("@jupyterlab/apputils-extension:notification", "fetchNews") == "false"


def test_the_guided_path_with_default_parameters(page, lab, artifacts):
    pipeline = Params().names(_session(lab).account_id()).pipeline
    _walk_setup(page, lab, artifacts)
    _watch_and_approve(page, lab, artifacts, pipeline)
    _triage_names_the_failing_test(page, lab, artifacts)
    _roll_back(page, lab, artifacts)
    states = _overview(page, lab, artifacts, "00-converged")
    assert set(states.values()) <= {"converged", "read-only"}, states
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").all_inner_texts()
    assert len(tabs) == len(set(tabs)), f"a notebook opened twice: {tabs}"
