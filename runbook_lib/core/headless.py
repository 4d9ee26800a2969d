"""Whether the suite runs headless (papermill, nbval, `runbook run`) or in JupyterLab.

Lower layers ask too: a setup step prompts for a secret only when an operator is at the keyboard.
"""

from __future__ import annotations

import os

HEADLESS_ENV = "RUNBOOK_HEADLESS"


def is_headless() -> bool:
    """True under papermill, nbval and `runbook run`; False in JupyterLab."""
    return os.environ.get(HEADLESS_ENV) == "1"
