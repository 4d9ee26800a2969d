"""Secret recognition and masking: names and values that look secret, masks longest first,
locations left readable."""

import pytest

from runbook_lib.core import redact


@pytest.mark.parametrize("name, value, secret", [
    ("NODE_ENV", "production", False),
    ("LOG_LEVEL", "debug", False),
    ("DB_PASSWORD", "x", True),
    ("GITHUB_TOKEN", "", True),
    ("SOME", "AKIAABCDEFGHIJKLMNOP", True),
    ("SOME", "ghp_" + "a1B2c3D4" * 5, True),
    ("SOME", "-----BEGIN RSA PRIVATE KEY-----", True),
    ("BUILD_URL", "https://example.com/a/b", False),
])
def test_secret_recognition(name, value, secret):
    assert redact.looks_secret(name, value) is secret


def test_mask_replaces_every_known_secret_longest_first():
    text = "token=abcdef and abc"
    assert redact.mask(text, ["abc", "abcdef"]) == "token=*** and ***"


@pytest.mark.parametrize("name, secret", [
    ("AUTHOR", False), ("OAUTH_CALLBACK_URL", False), ("AUTH", True), ("BASIC_AUTH", True),
    ("AUTH_HEADER", True),
])
def test_auth_is_a_word_not_a_substring(name, secret):
    assert redact.looks_like_secret_name(name) is secret


def test_an_artifact_path_is_not_masked_but_a_secret_beside_it_is():
    """CodeBuild logs where its source came from: a bucket and key, however random the key's
    name, is a location. A secret with slashes and no file suffix is still masked."""
    path = ("sample-app-artifacts-123456789012-us-east-1/sample-app-pipeline/SourceOutput/"
            "SrcA1b2c3d4e5f6g7.zip")
    assert redact.redact_line(f"Downloaded source from {path}") == f"Downloaded source from {path}"
    assert redact.redact_line("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYa1b2 in log") == \
        "key *** in log"
