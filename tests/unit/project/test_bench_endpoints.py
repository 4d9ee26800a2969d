"""`make bench` in a clean shell: the benchmarks' AWS-shaped endpoints need no credentials."""

from __future__ import annotations

import os
import subprocess
import sys

from benchmarks.endpoints import shaped_session


def test_a_shaped_session_signs_with_placeholders_and_leaves_the_shell_as_it_was(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_PROFILE", "someone-elses")
    session = shaped_session("http://127.0.0.1:9")
    keys = session.client("logs")._request_signer._credentials.get_frozen_credentials()
    assert (keys.access_key, keys.secret_key) == ("bench", "bench")
    assert os.environ.get("AWS_PROFILE") == "someone-elses"
    assert "AWS_ACCESS_KEY_ID" not in os.environ


def test_a_shaped_session_is_made_in_a_clean_shell(tmp_path):
    """As `env -i PATH=... HOME=... python -m benchmarks`: no AWS variable at all."""
    code = ("from benchmarks.endpoints import shaped_session; "
            "print(shaped_session('http://127.0.0.1:9').client('logs').meta.endpoint_url)")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, cwd=os.getcwd())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "http://127.0.0.1:9"
