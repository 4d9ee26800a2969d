"""`runbook lab`: JupyterLab on loopback over working copies of the notebooks."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
from helpers import free_port


def _get_json(url: str, attempts: int = 60):
    """The URL is logged a moment before the server accepts connections: retry briefly."""
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.URLError as err:
            if not isinstance(err.reason, ConnectionRefusedError):
                raise
            time.sleep(0.5)
    raise AssertionError(f"{url} refused connections for {attempts / 2:.0f}s")


def test_lab_serves_clean_working_copies_on_loopback(tmp_path, local_aws):
    port = free_port()
    workspace = tmp_path / "lab"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_lib.app.cli", "lab", "--port", str(port), "--dir",
         str(workspace)],
        env={**os.environ, "AWS_ENDPOINT_URL": local_aws.endpoint_url,
             "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url, seen = None, []
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            seen.append(line)
            match = re.search(rf"(http://127\.0\.0\.1:{port}/lab\?token=\w+)", line)
            url = match.group(1) if match else None
        assert url, "".join(seen)
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/api/contents/01_preflight.ipynb?token={token}"
        model = _get_json(api)
        cells = model["content"]["cells"]
        assert all(c.get("outputs", []) == [] for c in cells if c["cell_type"] == "code")
        assert not any("injected-parameters" in c["metadata"].get("tags", []) for c in cells)
        copy = nbformat.read(workspace / "01_preflight.ipynb", as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in copy.cells)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
