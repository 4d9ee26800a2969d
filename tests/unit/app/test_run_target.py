"""A command reuses the local AWS already running, and says so when that server keeps another
rehearsal clock than the command asked for (`make run` asks for 20; `runbook lab` left one
running in real time)."""

from __future__ import annotations

import pytest

from runbook_lib.app import run_target
from runbook_lib.core import local_endpoint
from runbook_lib.local import clock
from runbook_lib.local.server import process


@pytest.fixture
def running(tmp_path, monkeypatch):
    monkeypatch.delenv(clock.FACTOR_ENV, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    status = process.start(tmp_path)  # real time: no factor in its environment
    monkeypatch.setattr(local_endpoint, "default_state_dir", lambda: tmp_path)
    yield status
    process.stop(tmp_path)


@pytest.mark.parametrize(("asked", "said"), [("20", True), ("1", False), (None, False)])
def test_a_running_server_with_another_factor_is_named(running, monkeypatch, capsys, asked,
                                                       said):
    if asked:
        monkeypatch.setenv(clock.FACTOR_ENV, asked)
    with run_target.target_environment("local") as endpoint:
        assert endpoint == running.endpoint_url  # reused, not a second server
    err = capsys.readouterr().err
    assert ("keeps its time factor 1, not RUNBOOK_LOCAL_TIME_FACTOR=20" in err) is said, err
    if said:
        assert "in real time" in err and "runbook local stop" in err
    assert "starting the local AWS" not in err
