"""Where bubblewrap cannot run: builds fail in PROVISIONING, unless --unsandboxed-builds.

The in-process local AWS shares this process's sandbox policy, so the tests switch the probe's
answer as a machine without user namespaces would give it.
"""

from __future__ import annotations

import re

import pytest
from helpers import run_inline_build

from runbook_lib.local.codebuild import sandbox


@pytest.fixture
def no_bubblewrap(monkeypatch):
    monkeypatch.setitem(sandbox._state, "support",
                        sandbox.Support(False, "user namespaces are disabled (test)"))
    monkeypatch.setitem(sandbox._state, "allow_unsandboxed", False)


def _log(session, build) -> str:
    events = session.client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"],
        startFromHead=True)["events"]
    return "\n".join(e["message"] for e in events)


def test_without_a_sandbox_a_build_fails_in_provisioning_saying_why(session, app_name,
                                                                    no_bubblewrap):
    build = run_inline_build(session, app_name,
                             "version: 0.2\nphases:\n  build:\n    commands: [touch /tmp/ran]\n")
    assert build["buildStatus"] == "FAILED"
    phase = next(p for p in build["phases"] if p["phaseType"] == "PROVISIONING")
    message = phase["contexts"][0]["message"]
    assert phase["phaseStatus"] == "FAILED" and "user namespaces are disabled" in message
    assert "--unsandboxed-builds" in message
    assert not any(p["phaseType"] == "BUILD" for p in build["phases"])


def test_unsandboxed_builds_keep_codebuilds_paths_and_a_clean_environment(
        session, app_name, no_bubblewrap, monkeypatch):
    sandbox.allow_unsandboxed(True)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_unsandboxedmarker0123456789abcdef")
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - env\n"
            "      - mkdir -p node_modules/.bin\n"
            "      - printf '#!/bin/sh\\necho devdep-ran\\n' > node_modules/.bin/mytool\n"
            "      - chmod +x node_modules/.bin/mytool\n"
            "      - PATH=$CODEBUILD_SRC_DIR/node_modules/.bin:$PATH mytool\n")
    build = run_inline_build(session, app_name, spec)
    text = _log(session, build)
    assert build["buildStatus"] == "SUCCEEDED", text
    assert "Build sandbox: NONE" in text and "devdep-ran" in text
    src = re.search(r"^CODEBUILD_SRC_DIR=(.*)$", text, re.M).group(1)
    assert re.fullmatch(r"[A-Za-z0-9/_-]+/codebuild/output/src\d+/src", src), src
    assert "ghp_unsandboxedmarker" not in text
    assert not re.search(r"^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)=", text, re.M)
