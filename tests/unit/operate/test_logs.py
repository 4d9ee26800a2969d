"""Reading a build's log without a server: secrets masked, phases from CodeBuild's markers,
filtered matches merged with their context. The real failing run:
tests/integration/operate/test_logs.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.core import redact
from runbook_lib.operate import log_text, logs

FAKE_KEY = "AKIA" + "Q" * 12 + "7XYZ"


ARTIFACT_KEY = "sample-app-pipeline/BuildArtif/Xy7Qa2b9Kc3Lm4Np5Rz"
ARTIFACT_PATH = f"sample-app-artifacts-123456789012-us-east-1/{ARTIFACT_KEY}"


def test_a_known_secret_inside_an_arn_is_masked_and_only_it():
    """The runner masks the build's secret values wherever they appear, as CodeBuild does;
    the rest of the ARN stays readable."""
    from runbook_lib.core import redact

    line = f"uploading to arn:aws:s3:::{ARTIFACT_PATH}.zip"
    assert redact.mask(line, ["BuildArtif"]) == (
        "uploading to arn:aws:s3:::sample-app-artifacts-123456789012-us-east-1/"
        "sample-app-pipeline/***/Xy7Qa2b9Kc3Lm4Np5Rz.zip")
    assert redact.redact_line(redact.mask(line, ["BuildArtif"])).endswith(
        "/Xy7Qa2b9Kc3Lm4Np5Rz.zip")


@pytest.mark.parametrize("case, line, expected", [
    ("access key", f"key={FAKE_KEY} done", "key=*** done"),
    ("named secret", "DB_PASSWORD=hunter2", "DB_PASSWORD=***"),
    ("named secret quoted", 'export API_KEY="s3cr3t"', 'export API_KEY="***"'),
    ("variable reference kept", "export API_KEY=$API_KEY", "export API_KEY=$API_KEY"),
    ("bearer token", "Authorization: Bearer abc.def.ghi123", "Authorization: Bearer ***"),
    ("github token", "ghp_" + "a1B2c3D4" * 5, "***"),
    ("prose kept", "the token expired, retrying", "the token expired, retrying"),
    ("build id kept", "sample-app-build:99bc47d3-194f-47cf-b804-bf95c63898fc",
     "sample-app-build:99bc47d3-194f-47cf-b804-bf95c63898fc"),
    ("commit sha kept", "commit 0123456789abcdef0123456789abcdef01234567",
     "commit 0123456789abcdef0123456789abcdef01234567"),
    ("iam action kept", "is not authorized to perform: s3:PutObject on resource",
     "is not authorized to perform: s3:PutObject on resource"),
    # An artifact's key is random-looking, but a location is not a secret.
    ("artifact arn kept", f"uploading to arn:aws:s3:::{ARTIFACT_PATH}.zip",
     f"uploading to arn:aws:s3:::{ARTIFACT_PATH}.zip"),
    ("artifact s3 uri kept", f"copy s3://{ARTIFACT_PATH}.zip .",
     f"copy s3://{ARTIFACT_PATH}.zip ."),
    ("random token still masked", f"token {ARTIFACT_KEY}x9Q7", "token ***"),
])
def test_redact_line(case, line, expected):
    assert redact.redact_line(line) == expected, case


def test_private_key_blocks_are_masked_whole():
    lines = ["before", "-----BEGIN RSA PRIVATE KEY-----", "MIIEow", "abc",
             "-----END RSA PRIVATE KEY-----", "after"]
    assert redact.redact_lines(lines) == ["before", "***", "***", "***", "***", "after"]


def test_line_phases_follow_codebuild_markers():
    lines = ["[Container] 2026/01/01 00:00:00.1 Waiting for agent ping",
             "[Container] 2026/01/01 00:00:00.2 Phase is DOWNLOAD_SOURCE",
             "[Container] 2026/01/01 00:00:01.0 Entering phase INSTALL", "npm ci",
             "[Container] 2026/01/01 00:00:02.0 Entering phase PRE_BUILD", "npm test"]
    assert log_text.line_phases(lines) == ["PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "INSTALL",
                                       "PRE_BUILD", "PRE_BUILD"]


def test_phase_row_is_iso_with_a_duration():
    start = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
    phase = log_text.Phase("BUILD", "FAILED", start, start + timedelta(seconds=75.5))
    assert phase.row() == ("BUILD", "FAILED", "2026-01-01T10:00:00Z", "75.5 s")
    assert log_text.Phase("COMPLETED", "", start).row()[3] == "-"


@pytest.mark.parametrize("case, matches, around, expected", [
    ("context inserted in place", [(1, "a"), (5, "e"), (9, "x")], [(3, "c"), (5, "e"), (6, "f")],
     [(1, "a"), (3, "c"), (5, "e"), (6, "f"), (9, "x")]),
    ("all matched already", [(1, "a"), (1, "a"), (2, "b")], [(1, "a"), (1, "a")],
     [(1, "a"), (1, "a"), (2, "b")]),
    ("same millisecond kept", [(5, "x"), (5, "y"), (5, "z")], [(5, "y")],
     [(5, "x"), (5, "y"), (5, "z")]),
])
def test_merge_of_filtered_matches_and_context(case, matches, around, expected):
    assert logs._merge(matches, around) == expected, case
