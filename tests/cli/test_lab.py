"""`runbook lab`: JupyterLab on loopback over working copies of the notebooks."""

import os
import signal
import subprocess
import sys

import nbformat
from helpers import free_port, get_json_when_serving, wait_for_log_match


def test_lab_serves_clean_working_copies_on_loopback(tmp_path, local_aws):
    port = free_port()
    workspace = tmp_path / "lab"
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runbook_lib.app.cli", "lab", "--port", str(port), "--dir",
             str(workspace)],
            env={**os.environ, "AWS_ENDPOINT_URL": local_aws.endpoint_url,
                 "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = wait_for_log_match(proc, log, rf"http://127\.0\.0\.1:{port}/lab\?token=\w+",
                                 what="the lab's URL").group(0)
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/api/contents/01_preflight.ipynb?token={token}"
        model = get_json_when_serving(api, timeout=30)
        cells = model["content"]["cells"]
        assert all(c.get("outputs", []) == [] for c in cells if c["cell_type"] == "code")
        assert not any("injected-parameters" in c["metadata"].get("tags", []) for c in cells)
        copy = nbformat.read(workspace / "01_preflight.ipynb", as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in copy.cells)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
