"""A secret-shaped parameter value is refused before anything is written (issue 22 item 7).

The real command runs in a subprocess from a fresh working directory with its own HOME and
state folder; afterwards no file anywhere under them holds the value (no parameters file, no
executed notebook, no log), and nothing printed repeats it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvcHMiLCJyb2xlIjoiYWRtaW4ifQ."
       "Zq8vK3mW9pL4xR7tB2nY5hunter2Xc0dE1fG2h")
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzq8vK3mW9p"

CASES = {
    "url with a password": ("review_url=postgres://app:S3cr3tPassw0rd@db/app", "S3cr3tPassw0rd"),
    "jwt as a plaintext variable": (f"plaintext_variables=SESSION={JWT}", JWT),
    "aws secret after a colon": (f"config_parameters=LOG_LEVEL=info,CREDS=ops:{AWS_SECRET}",
                                 AWS_SECRET),
    "npm token in a url": ("review_url=https://registry.example.com/?t=npm_"
                           "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "npm_a1B2c3D4e5F6g7H8"),
}


def _files_holding(root: Path, needle: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


@pytest.mark.parametrize("pair, secret", list(CASES.values()), ids=list(CASES))
def test_refused_secret_is_written_nowhere_and_never_printed(pair, secret, tmp_path):
    home, state, out = tmp_path / "home", tmp_path / "state", tmp_path / "out"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "RUNBOOK_STATE_DIR": str(state),
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PYTHONPATH": str(Path.cwd())}
    result = subprocess.run(RUNBOOK + ["run", "-p", pair, "--out", str(out)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=env)
    printed = result.stdout + result.stderr
    assert result.returncode not in (0, None), printed
    assert "looks like a secret" in printed and "RUNBOOK_SECRET_" in printed
    assert "Traceback" not in printed and secret not in printed
    assert _files_holding(tmp_path, secret) == []
    assert not out.exists() or not any(out.iterdir())
