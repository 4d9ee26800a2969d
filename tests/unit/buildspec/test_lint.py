"""Buildspec lint: each practice, the line it points at, and secrets never echoed."""

from __future__ import annotations

import pytest

from runbook_lib.buildspec.lint import (
    ERROR,
    INFO,
    WARNING,
    check_file,
    check_text,
    lint_buildspec,
)
from runbook_lib.buildspec.validate import parse_buildspec

GOOD = """\
version: 0.2
phases:
  install:
    commands:
      - npm ci
  pre_build:
    commands:
      - npm test
  build:
    commands:
      - npm run build
artifacts:
  base-directory: dist
  files:
    - '**/*'
cache:
  paths:
    - /root/.npm/**/*
"""


def _spec(phases: str, extra: str = "", cache: bool = True) -> str:
    """A buildspec with the given phases block (indented under phases:) and extra sections."""
    text = f"version: 0.2\nphases:\n{phases}{extra}"
    return text + ("cache:\n  paths:\n    - /root/.npm/**/*\n" if cache else "")


def _rules(text: str) -> list[tuple[str, str, int | None]]:
    return [(f.rule_id, f.severity, f.line) for f in lint_buildspec(parse_buildspec(text))]


def test_good_buildspec_has_no_findings():
    assert _rules(GOOD) == []


# Each case: buildspec text, then the (rule, severity, line) findings it must produce exactly.
CASES = [
    ("npm-install", _spec("  install:\n    commands:\n      - npm install\n"),
     [("npm-ci", WARNING, 5)]),
    ("npm-i-with-flags", _spec("  install:\n    commands:\n      - npm i --no-audit\n"),
     [("npm-ci", WARNING, 5)]),
    ("npm-install-chained", _spec("  install:\n    commands:\n      - cd app && npm install\n"),
     [("npm-ci", WARNING, 5)]),
    ("npm-install-global-tool-is-fine",
     _spec("  install:\n    commands:\n      - npm install -g npm@10\n"), []),
    ("npm-ci-is-fine", _spec("  install:\n    commands:\n      - npm ci\n"), []),
    ("npm-test-in-build", _spec("  build:\n    commands:\n      - make\n      - npm test\n"),
     [("tests-in-pre-build", WARNING, 6)]),
    ("pytest-in-build", _spec("  build:\n    commands:\n      - python -m pytest -q\n"),
     [("tests-in-pre-build", WARNING, 5)]),
    ("go-test-in-post-build", _spec("  post_build:\n    commands:\n      - go test ./...\n"),
     [("tests-in-pre-build", WARNING, 5)]),
    ("mvn-test-in-install", _spec("  install:\n    commands:\n      - mvn -B test\n"),
     [("tests-in-pre-build", WARNING, 5)]),
    ("tests-in-finally", _spec("  build:\n    commands:\n      - make\n    finally:\n"
                               "      - npm run test\n"),
     [("tests-in-pre-build", WARNING, 7)]),
    ("tests-in-pre-build-are-fine", _spec("  pre_build:\n    commands:\n      - pytest\n"), []),
    ("installing-a-test-runner-runs-no-test",
     _spec("  install:\n    commands:\n      - python3 -m pip install --quiet pytest\n"
           "      - .venv/bin/python -m pip install pytest tox\n"
           "      - npm install -g mocha\n      - sudo apt-get install -y python3-pytest\n"),
     []),
    ("install-then-test-in-one-command",
     _spec("  install:\n    commands:\n      - pip install pytest && pytest -q\n"),
     [("tests-in-pre-build", WARNING, 5)]),
    ("npm-without-cache", _spec("  install:\n    commands:\n      - npm ci\n", cache=False),
     [("dependency-cache", WARNING, 5)]),
    ("pip-without-cache",
     _spec("  install:\n    commands:\n      - pip install -r requirements.txt\n", cache=False),
     [("dependency-cache", WARNING, 5)]),
    ("maven-without-cache", _spec("  build:\n    commands:\n      - mvn -B package\n",
                                  cache=False),
     [("dependency-cache", WARNING, 5)]),
    ("no-dependencies-no-cache-needed", _spec("  build:\n    commands:\n      - make\n",
                                              cache=False), []),
    ("artifacts-everything", _spec("  build:\n    commands:\n      - make\n",
                                   "artifacts:\n  files:\n    - '**/*'\n"),
     [("minimal-artifacts", WARNING, 8)]),
    ("artifacts-everything-dot-base",
     _spec("  build:\n    commands:\n      - make\n",
           "artifacts:\n  base-directory: .\n  files:\n    - x.zip\n    - '**/*'\n"),
     [("minimal-artifacts", WARNING, 10)]),
    ("secondary-artifacts-everything",
     _spec("  build:\n    commands:\n      - make\n",
           "artifacts:\n  files: [app.zip]\n  secondary-artifacts:\n    all:\n"
           "      files:\n        - '**/*'\n"),
     [("minimal-artifacts", WARNING, 11)]),
    ("artifacts-from-dist-are-fine",
     _spec("  build:\n    commands:\n      - make\n",
           "artifacts:\n  base-directory: dist\n  files:\n    - '**/*'\n"), []),
    ("docker-latest-only",
     _spec("  build:\n    commands:\n      - docker build -t app .\n"
           "      - docker push $REPO:latest\n"),
     [("docker-latest-only", WARNING, 5), ("privileged-docker", INFO, 5)]),
    ("docker-untagged", _spec("  build:\n    commands:\n      - docker build .\n"),
     [("docker-latest-only", WARNING, 5), ("privileged-docker", INFO, 5)]),
    ("docker-sha-tag-is-fine",
     _spec("  build:\n    commands:\n      - docker build --tag \"$REPO:$IMAGE_TAG\" .\n"
           "      - docker tag \"$REPO:$IMAGE_TAG\" \"$REPO:latest\"\n"
           "      - docker push \"$REPO:$IMAGE_TAG\"\n"),
     [("privileged-docker", INFO, 5)]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lint_rules(text, expected):
    assert sorted(_rules(text)) == sorted(expected)


SECRETS = [
    ("name-password", "DB_PASSWORD", "changeme"),
    ("name-token", "GITHUB_TOKEN", "abc"),
    ("name-api-key", "API_KEY", "abc"),
    ("name-private-key", "PRIVATE_KEY", "abc"),
    ("name-secret", "CLIENT_SECRET", "abc"),
    ("value-access-key", "AWS_ID", "AKIAABCDEFGHIJKLMNOP"),
    ("value-private-key", "CERT", "-----BEGIN RSA PRIVATE KEY-----"),
    ("value-high-entropy", "BLOB", "q8Zr4Kx0vT2mW9pL7yN3bH6cJ1dF5gSa"),
]


@pytest.mark.parametrize(("name", "value"), [c[1:] for c in SECRETS], ids=[c[0] for c in SECRETS])
def test_plaintext_secret_is_an_error_and_never_shown(name, value):
    text = _spec("  build:\n    commands:\n      - make\n",
                 f"env:\n  variables:\n    {name}: '{value}'\n")
    findings = lint_buildspec(parse_buildspec(text))
    assert [(f.rule_id, f.severity, f.line) for f in findings] == [
        ("plaintext-secret", ERROR, 8)]
    shown = " ".join(f"{f.message} {f.fix}" for f in findings)
    assert value not in shown
    assert name in shown


@pytest.mark.parametrize("name,value", [("NODE_ENV", "production"), ("LOG_LEVEL", "info"),
                                        ("REGION", "us-east-1")])
def test_plain_config_is_not_a_secret(name, value):
    text = _spec("  build:\n    commands:\n      - make\n",
                 f"env:\n  variables:\n    {name}: {value}\n")
    assert _rules(text) == []


def test_secret_references_are_fine():
    text = _spec("  build:\n    commands:\n      - make\n",
                 "env:\n  secrets-manager:\n    DB_PASSWORD: app/db:password\n"
                 "  parameter-store:\n    API_TOKEN: /app/token\n")
    assert _rules(text) == []


def test_findings_come_in_line_order():
    text = _spec("  install:\n    commands:\n      - npm install\n  build:\n    commands:\n"
                 "      - npm test\n", "artifacts:\n  files: ['**/*']\n", cache=False)
    lines = [f.line for f in lint_buildspec(parse_buildspec(text))]
    assert lines == sorted(lines)
    assert len(lines) == 4


def test_check_text_turns_schema_errors_into_findings():
    check = check_text("version: 0.2\nphases:\n  biuld:\n    commands: [x]\n", "mine.yml")
    assert check.spec is None
    assert not check.ok
    assert [(f.rule_id, f.severity, f.line) for f in check.findings] == [("schema", ERROR, 3)]
    assert "did you mean 'build'" in check.findings[0].fix
    assert not check.findings[0].message.endswith(".")
    assert "INVALID" in check.summary()


def test_check_counts_and_rows():
    check = check_text(GOOD)
    assert check.ok
    assert check.summary() == "buildspec.yml: valid; 0 errors, 0 warnings, 0 notes"
    assert check.rows() == [("-", "-", "-", "no findings", "-")]


def test_check_file_defaults_to_the_sample_app():
    check = check_file("")
    assert check.source == "runbook_lib/sample_app/buildspec.yml"
    assert check.ok and check.findings == ()


def test_check_file_reports_a_missing_file(tmp_path):
    check = check_file(tmp_path / "missing.yml")
    assert [f.rule_id for f in check.findings] == ["schema"]
    assert check.findings[0].line is None
