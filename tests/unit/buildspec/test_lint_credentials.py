"""Buildspec lint: credentials written into commands are errors, pointed at, never repeated."""

from __future__ import annotations

import pytest

from runbook_lib.buildspec.lint import ERROR, check_text, credential_kinds

GITHUB_TOKEN = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
NPM_TOKEN = "npm_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"

LEAKS = [
    ("aws key id", "aws configure set aws_access_key_id AKIAQWERTYUIOPASDFGH",
     "AKIAQWERTYUIOPASDFGH", "AWS access key id"),
    ("sts key id", "export AWS_ACCESS_KEY_ID=ASIAQWERTYUIOPASDFGH", "ASIAQWERTYUIOPASDFGH",
     "AWS access key id"),
    ("aws secret key", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCY",
     "wJalrXUtnFEMIK7MDENGbPxRfiCY", "AWS secret access key"),
    ("private key", "echo '-----BEGIN OPENSSH PRIVATE KEY-----' > ~/.ssh/id", "OPENSSH",
     "private key"),
    ("github token", f"git clone https://{GITHUB_TOKEN}@github.com/acme/app", GITHUB_TOKEN,
     "GitHub token"),
    ("npm token", f"echo //registry.npmjs.org/:_authToken={NPM_TOKEN} > .npmrc", NPM_TOKEN,
     "npm token"),
    ("slack token", "curl -d t=xoxb-1234567890-abcdefghij https://slack.com/api/x",
     "xoxb-1234567890-abcdefghij", "Slack token"),
    ("slack webhook", "curl -X POST https://hooks.slack.com/services/T0AB/B0CD/s3cr3tXYZ",
     "s3cr3tXYZ", "Slack token"),
    ("password flag", "mysql --password=hunter2 -e 'select 1'", "hunter2", "password"),
    ("password flag, spaced", "psql --password hunter2", "hunter2", "password"),
    ("api key export", "export STRIPE_API_KEY=sk_live_abc123", "sk_live_abc123", "password"),
    ("bearer header", "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30' x",
     "eyJhbGciOiJIUzI1NiJ9", "bearer token"),
]


def _buildspec(command: str, phase: str = "build") -> str:
    quoted = "'" + command.replace("'", "''") + "'"
    return (f"version: 0.2\nphases:\n  {phase}:\n    commands:\n      - npm ci\n"
            f"      - {quoted}\ncache:\n  paths:\n    - /root/.npm/**/*\n")


@pytest.mark.parametrize("command, value, kind", [c[1:] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_credential_in_a_command_is_an_error_at_its_line_and_never_shown(command, value, kind):
    check = check_text(_buildspec(command))
    found = [f for f in check.findings if f.rule_id == "credential-in-command"]
    assert [(f.severity, f.line) for f in found] == [(ERROR, 6)]
    assert kind in found[0].message and "phases.build.commands[1]" in found[0].message
    shown = " ".join(" ".join(row) for row in check.rows()) + check.summary()
    assert value not in shown
    assert not check.ok


@pytest.mark.parametrize("command", [
    "npm test",
    "echo password reset flow tested",
    "mysql --password=$DB_PASSWORD -e 'select 1'",
    "export API_KEY=\"$API_KEY\"",
    "echo //registry.npmjs.org/:_authToken=${NPM_TOKEN} > .npmrc",
    "aws ecr get-login-password | docker login --username AWS --password-stdin $REGISTRY",
    "curl -H \"Authorization: Bearer $TOKEN\" https://example.com",
    "python manage.py --secret-file secrets.json",
    "git clone https://github.com/acme/app",
    "echo token=$(cat /run/secrets/token)",
])
def test_references_and_ordinary_commands_are_not_credentials(command):
    assert credential_kinds(command) == []
    rules = [f.rule_id for f in check_text(_buildspec(command)).findings]
    assert "credential-in-command" not in rules


def test_finally_blocks_are_checked_too():
    text = ("version: 0.2\nphases:\n  build:\n    commands:\n      - make\n    finally:\n"
            "      - curl -u admin:x --token=abcdef123 https://x\n")
    found = [f for f in check_text(text).findings if f.rule_id == "credential-in-command"]
    assert len(found) == 1 and "phases.build.finally[0]" in found[0].message
