"""The `runbook` command starts light: building its parser imports no AWS SDK, notebook runner
or YAML reader, so `runbook local start`, `local repo add` or `--help` cost a tenth of a second
of CPU, not the third of a second that importing boto3 and papermill took (make test runs a few
hundred `runbook` commands; each local AWS server starts through the same parser)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("boto3", "botocore.session", "papermill", "nbformat", "yaml", "matplotlib",
         "jupyter_client", "runbook_lib.app.runner", "runbook_lib.app.parameters")


def _imported_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_building_the_parser_imports_nothing_heavy():
    loaded = _imported_after("from runbook_lib.app import cli\ncli._parser()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_command_still_imports_what_it_runs_with():
    """What the parser no longer imports, the command imports when it runs: `fleet` checks
    its engine against the fleet report's own list."""
    loaded = _imported_after(
        "from runbook_lib.app import cli\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    assert cli.main(['fleet', '--out', 'f.html', '--engine', 'spark']) == 1")
    assert "runbook_lib.operate.fleet_report" in loaded
