"""Fixtures for the real-browser tests: a local AWS of their own, JupyterLab on it, Chromium.

The notebooks opened in JupyterLab run with their default parameters (app ``sample-app``), so
these tests get a fresh local AWS in a subprocess with a throw-away state folder rather than the
shared ``local_aws`` server. Chromium is Debian's (``/usr/bin/chromium``, or ``RUNBOOK_CHROMIUM``)
driven by Playwright for Python through its executable path: never ``playwright install``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import free_port, get_json_when_serving, wait_for_log_match

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("RUNBOOK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# JupyterLab asks whether to fetch Jupyter news and checks for updates: no network, no toast.
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


@dataclass
class Lab:
    """A running JupyterLab: where it is, its token, its workspace and the AWS it reaches."""

    base_url: str
    token: str
    workspace: Path
    endpoint_url: str
    state_dir: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.base_url}/lab/tree/{name}?token={self.token}"

    def env(self) -> dict[str, str]:
        """Environment for a `runbook` command against the same local AWS."""
        env = {**os.environ, "AWS_ENDPOINT_URL": self.endpoint_url,
               "RUNBOOK_STATE_DIR": str(self.state_dir)}
        env.pop("RUNBOOK_HEADLESS", None)
        return env


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Screenshots (and the JupyterLab log) kept as test artifacts; CI keeps this folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser_aws(tmp_path_factory):
    """A local AWS of these tests' own, in a subprocess, with a throw-away state folder."""
    from runbook_lib.local.server import process

    state_dir = tmp_path_factory.mktemp("browser-aws-state")
    status = process.start(state_dir)
    yield status
    process.stop(state_dir)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser_aws, artifacts):
    """`runbook lab` on 127.0.0.1 against ``browser_aws``, over a fresh workspace."""
    root = tmp_path_factory.mktemp("browser-lab")
    settings = root / "settings"
    for rel, values in _LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(values))
    port = free_port()
    log = root / "jupyterlab.log"
    env = {**os.environ, "AWS_ENDPOINT_URL": browser_aws.endpoint_url,
           "RUNBOOK_STATE_DIR": browser_aws.state_dir,
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}
    for key in ("RUNBOOK_HEADLESS", "MPLBACKEND"):  # guided mode, as an operator sees it
        env.pop(key, None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runbook_lib.app.cli", "lab", "--port", str(port),
             "--dir", str(root / "workspace")],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        url = wait_for_log_match(proc, log, rf"http://127\.0\.0\.1:{port}/lab\?token=\w+",
                                 what="JupyterLab's URL (with its token)").group(0)
        token = url.split("token=")[1]
        base = f"http://127.0.0.1:{port}"
        get_json_when_serving(f"{base}/api/status?token={token}")
        yield Lab(base, token, root / "workspace", browser_aws.endpoint_url,
                  Path(browser_aws.state_dir), log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        (artifacts / "jupyterlab.log").write_bytes(log.read_bytes())


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, launched by Playwright through its executable path."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request, artifacts):
    """A fresh browser page per test; on failure a last screenshot is kept."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts / f"{request.node.name}-failed.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so ``page`` knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
