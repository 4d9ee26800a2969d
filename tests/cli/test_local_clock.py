"""`runbook local start --time-factor N`: checked, applied, and shown by `runbook local status`."""

import subprocess
import sys


def _runbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_time_factor_is_shown_by_status(tmp_path):
    state = str(tmp_path / "state")
    started = _runbook("local", "start", "--time-factor", "30", "--state-dir", state)
    try:
        assert started.returncode == 0, started.stderr
        status = _runbook("local", "status", "--state-dir", state)
        assert "# rehearsal clock: waits run 30x faster than real time" in status.stdout
    finally:
        _runbook("local", "stop", "--state-dir", state)


def test_real_time_by_default(tmp_path):
    state = str(tmp_path / "state")
    assert _runbook("local", "start", "--state-dir", state).returncode == 0
    try:
        assert "# clock: real time" in _runbook("local", "status", "--state-dir", state).stdout
    finally:
        _runbook("local", "stop", "--state-dir", state)


def test_bad_factor_is_refused_before_anything_starts(tmp_path):
    state = tmp_path / "state"
    refused = _runbook("local", "start", "--time-factor", "0.5", "--state-dir", str(state))
    assert refused.returncode != 0
    assert "--time-factor='0.5'" in refused.stderr and "from 1" in refused.stderr
    assert not (state / "server.json").exists()
