"""How `runbook lab` configures JupyterLab: no news pop-up, kernels of closed notebooks shut down.

A guided path opens one notebook after another; left alone, every notebook visited keeps a
kernel (tens of them, a GiB and more). Closing a notebook shuts its kernel down
(``kernelShutdown``), and the server culls kernels idle with no browser connected. JupyterLab's
first-run question about fetching Jupyter news is answered "no" (no network, no toast). These
are defaults (JupyterLab's ``overrides.json``): an operator's own settings still win.
"""

from __future__ import annotations

import json
from pathlib import Path

LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                   "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"kernelShutdown": True},
}
CULL_IDLE_SECONDS = 900  # a kernel idle this long with no browser connected is shut down
CULL_INTERVAL_SECONDS = 60


def lab_arguments(settings_dir: Path) -> list[str]:
    """JupyterLab command-line options; writes the settings overrides into ``settings_dir``."""
    settings_dir.mkdir(parents=True, exist_ok=True)
    target = settings_dir / "overrides.json"
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(LAB_OVERRIDES, indent=1, sort_keys=True))
    partial.replace(target)  # atomic: a JupyterLab starting meanwhile reads a whole file
    return [f"--LabApp.app_settings_dir={settings_dir}",
            f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
            f"--MappingKernelManager.cull_interval={CULL_INTERVAL_SECONDS}",
            "--MappingKernelManager.cull_connected=False"]
