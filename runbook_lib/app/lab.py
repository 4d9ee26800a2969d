"""``runbook lab``: JupyterLab on working copies of the notebooks, kernels reaching the target.

The working copies (``lab/``, private to the operator) keep the committed notebooks pristine.
The parameters runbook.toml remembers are injected into each copy, below its parameters cell,
as papermill injects a headless run's: the guided path then starts from the operator's app, not
from the sample app's defaults. Each start refreshes only that injected cell.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from runbook_lib.app import lab_settings, suite
from runbook_lib.app.runner import REPO_ROOT, private_files, private_folder
from runbook_lib.core import local_endpoint
from runbook_lib.core.headless import HEADLESS_ENV

LAB_DIR = REPO_ROOT / "lab"
INJECTED = "injected-parameters"


def prepare_lab_workspace(workspace: Path = LAB_DIR, parameters: dict[str, Any] | None = None
                          ) -> Path:
    """Working copies of the notebooks, outputs cleared; ``parameters`` injected into each."""
    import nbformat

    private_folder(workspace)
    for src in sorted(suite.NOTEBOOK_DIR.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in src.parts:
            continue
        dest = workspace / src.relative_to(suite.NOTEBOOK_DIR)
        private_folder(dest.parent)
        nb = nbformat.read(dest if dest.exists() else src, as_version=4)
        if not dest.exists():
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = []
                    cell.execution_count = None
        nb = _with_parameters(nb, parameters or {})
        with private_files():
            nbformat.write(nb, dest)
    return workspace


def _with_parameters(nb, parameters: dict[str, Any]):
    """The notebook with its injected cell replaced by ``parameters`` (none: removed), written
    the way papermill writes it for a headless run."""
    import nbformat
    from papermill.translators import translate_parameters

    nb.cells = [c for c in nb.cells if INJECTED not in c.get("metadata", {}).get("tags", [])]
    at = next((i for i, c in enumerate(nb.cells)
               if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if not parameters or at is None:
        return nb
    cell = nbformat.v4.new_code_cell(translate_parameters(
        "python3", "python", parameters, "Parameters remembered in runbook.toml"))
    cell.metadata["tags"] = [INJECTED]
    nb.cells.insert(at + 1, cell)
    return nb


def run_lab(target: str = "local", port: int = 8888, workspace: Path | None = None,
            parameters: dict[str, Any] | None = None) -> int:
    """JupyterLab on loopback at a workspace of the notebooks, kernels reaching the target."""
    env = dict(os.environ)
    env.pop(HEADLESS_ENV, None)
    if target == "local":
        env.update(_local_environment(env))
    if target == "aws":
        from runbook_lib.core.session import AwsSession

        # Refuses without credentials, and refuses a loopback AWS_ENDPOINT_URL.
        AwsSession("aws", os.environ.get("AWS_REGION"))
    workspace = prepare_lab_workspace(workspace or LAB_DIR, parameters)
    print(f"notebooks: {workspace}\nopen the URL JupyterLab prints below (127.0.0.1 only)",
          flush=True)
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
           "--no-browser", f"--ServerApp.root_dir={workspace}",
           *lab_settings.lab_arguments(workspace / ".lab-settings")]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    sys.stdout.flush()
    os.umask(0o077)  # notebooks saved and kernels' files in the lab are the operator's alone
    # Become JupyterLab, so stopping `runbook lab` stops JupyterLab and its kernels too.
    os.execve(sys.executable, cmd, env)


def _local_environment(env: dict[str, str]) -> dict[str, str]:
    """The local AWS's endpoint (started when none runs) and key pair, for kernels and the
    lab's terminals (raw boto3 and the AWS CLI sign with the local key pair)."""
    from runbook_lib.core.local_credentials import credentials_for_endpoint
    from runbook_lib.local.server import process

    extra: dict[str, str] = {}
    endpoint = env.get("AWS_ENDPOINT_URL")
    if not endpoint:
        status = process.start(local_endpoint.default_state_dir())
        endpoint = extra["AWS_ENDPOINT_URL"] = status.endpoint_url
        print(f"local AWS at {endpoint} (stop it with `runbook local stop`)")
    creds = credentials_for_endpoint(endpoint)
    if creds:
        extra.update(creds.environment(endpoint, env.get("AWS_REGION") or "us-east-1"))
    return extra
