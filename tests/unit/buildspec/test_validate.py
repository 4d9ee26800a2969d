"""Buildspec version 0.2 parsing: the model the build runner consumes, and errors with lines."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_lib.buildspec import model as buildspec
from runbook_lib.buildspec.model import (
    ARTIFACT_KEYS,
    CACHE_KEYS,
    ENV_KEYS,
    PHASE_KEYS,
    PHASE_NAMES,
    TOP_LEVEL_KEYS,
    OnFailure,
    SecretRef,
)
from runbook_lib.buildspec.validate import load_buildspec, parse_buildspec
from runbook_lib.core.errors import BuildspecError

FULL = """\
version: 0.2
run-as: builder
env:
  shell: bash
  variables:
    NODE_ENV: production
    EMPTY: ""
    COUNT: 3
  parameter-store:
    LOG_LEVEL: /app/staging/LOG_LEVEL
  secrets-manager:
    API_KEY: app/staging/API_KEY
    DB_PASS: app/db:password:AWSPREVIOUS
    ARN_KEY: arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf:token::v-1
  exported-variables:
    - IMAGE_TAG
  git-credential-helper: yes
proxy:
  upload-artifacts: yes
  logs: no
batch:
  fast-fail: false
  build-list:
    - identifier: one
phases:
  post_build:
    commands:
      - echo done
  build:
    on-failure: CONTINUE
    commands:
      - npm run build
      - "echo key: value"
    finally:
      - echo always
  install:
    run-as: root
    on-failure: RETRY-2-timeout.*
    runtime-versions:
      nodejs: 20
      python: "3.12"
    commands:
      - npm ci
reports:
  unit:
    files:
      - junit.xml
    base-directory: reports
    discard-paths: yes
    file-format: JUNITXML
artifacts:
  files:
    - '**/*'
  name: app-$CODEBUILD_RESOLVED_SOURCE_VERSION
  base-directory: dist
  discard-paths: no
  exclude-paths: '**/*.map'
  enable-symlinks: yes
  s3-prefix: builds
  secondary-artifacts:
    docs:
      files:
        - docs/**/*
      name: docs
cache:
  key: npm-$(codebuild-hash-files package-lock.json)
  fallback-keys:
    - npm-
  action: restore
  paths:
    - /root/.npm/**/*
"""


@pytest.fixture(scope="module")
def full() -> buildspec.Buildspec:
    return parse_buildspec(FULL, "full.yml")


def test_phases_come_in_run_order_whatever_the_file_order(full):
    assert [p.name for p in full.phases] == ["install", "build", "post_build"]


def test_commands_are_plain_strings(full):
    build = full.phase("build")
    assert build.commands == ("npm run build", "echo key: value")
    assert build.finally_commands == ("echo always",)
    assert full.phase("pre_build") is None


def test_env_is_three_dicts(full):
    env = full.env
    assert env.variables == {"NODE_ENV": "production", "EMPTY": "", "COUNT": "3"}
    assert env.parameter_store == {"LOG_LEVEL": "/app/staging/LOG_LEVEL"}
    assert env.secrets_manager == {
        "API_KEY": SecretRef("app/staging/API_KEY"),
        "DB_PASS": SecretRef("app/db", "password", "AWSPREVIOUS"),
        "ARN_KEY": SecretRef("arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf",
                             "token", "", "v-1"),
    }
    assert env.exported_variables == ("IMAGE_TAG",)
    assert env.git_credential_helper is True
    assert env.shell == "bash"


def test_phase_settings(full):
    install = full.phase("install")
    assert install.run_as == "root"
    assert install.on_failure == OnFailure("RETRY", 2, "timeout.*")
    assert install.runtime_versions == {"nodejs": "20", "python": "3.12"}
    assert full.phase("build").on_failure == OnFailure("CONTINUE")
    assert full.phase("post_build").on_failure == OnFailure("ABORT")
    assert full.run_as == "builder"


def test_artifacts_reports_cache_proxy_batch(full):
    art = full.artifacts
    assert (art.files, art.base_directory, art.name) == (
        ("**/*",), "dist", "app-$CODEBUILD_RESOLVED_SOURCE_VERSION")
    assert (art.discard_paths, art.enable_symlinks, art.s3_prefix) == (False, True, "builds")
    assert art.exclude_paths == ("**/*.map",)
    assert art.secondary["docs"].files == ("docs/**/*",)
    assert art.secondary["docs"].name == "docs"
    report = full.reports["unit"]
    assert (report.files, report.base_directory, report.discard_paths, report.file_format) == (
        ("junit.xml",), "reports", True, "JUNITXML")
    assert full.cache == buildspec.Cache(("/root/.npm/**/*",),
                                         "npm-$(codebuild-hash-files package-lock.json)",
                                         ("npm-",), "restore")
    assert full.proxy == buildspec.Proxy(upload_artifacts=True, logs=False)
    assert full.batch == buildspec.Batch("build-list", (buildspec.BatchTask("one"),), False)


def test_lines_point_at_keys_and_items(full):
    lines = FULL.splitlines()
    assert lines[full.line_of("phases", "build", "commands", 1) - 1].strip() == \
        '- "echo key: value"'
    assert lines[full.line_of("env", "variables", "NODE_ENV") - 1].strip().startswith("NODE_ENV")
    # A path without its own line falls back to its nearest ancestor.
    assert full.line_of("phases", "build", "commands", 99) == \
        full.line_of("phases", "build", "commands")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ABORT", OnFailure("ABORT")),
        ("CONTINUE", OnFailure("CONTINUE")),
        ("RETRY", OnFailure("RETRY", 3, ".*")),
        ("RETRY-5", OnFailure("RETRY", 5, ".*")),
        ("RETRY-0", OnFailure("RETRY", 0, ".*")),
        ("RETRY-100", OnFailure("RETRY", 100, ".*")),
        ("RETRY-Connection reset", OnFailure("RETRY", 3, "Connection reset")),
        ("RETRY-7-^npm ERR", OnFailure("RETRY", 7, "^npm ERR")),
    ],
    ids=["abort", "continue", "retry", "retry-count", "retry-zero", "retry-max", "retry-regex",
         "retry-count-regex"],
)
def test_on_failure_forms(value, expected):
    spec = parse_buildspec(f"version: 0.2\nphases:\n  build:\n    on-failure: \"{value}\"\n"
                           "    commands: [make]\n")
    assert spec.phase("build").on_failure == expected


@pytest.mark.parametrize("version", ["0.2", "'0.2'", "0.20"])
def test_version_spellings(version):
    assert parse_buildspec(f"version: {version}\nphases:\n  build:\n    commands: [make]\n"
                           ).version == "0.2"


def test_install_may_hold_only_runtime_versions():
    spec = parse_buildspec("version: 0.2\nphases:\n  install:\n    runtime-versions:\n"
                           "      nodejs: 20\n")
    assert spec.phase("install").commands == ()


# Each case: a buildspec, the line the error must name, and a fragment of the rule.
INVALID = [
    ("not-a-mapping", "- build\n", 1, "must be a YAML mapping"),
    ("bad-yaml", "version: 0.2\nphases: [\n", 3, "not valid YAML"),
    ("empty", "", None, "empty"),
    ("version-missing", "phases:\n  build:\n    commands: [x]\n", 1, "needs 'version'"),
    ("version-1.0", "version: 1.0\nphases:\n  build:\n    commands: [x]\n", 1,
     "version must be 0.2"),
    ("phases-missing", "version: 0.2\n", 1, "needs 'phases'"),
    ("phases-empty", "version: 0.2\nphases: {}\n", 2, "phases is empty"),
    ("unknown-top-key", "version: 0.2\nphase:\n  build:\n    commands: [x]\n", 2,
     "did you mean 'phases'"),
    ("unknown-phase", "version: 0.2\nphases:\n  pre-build:\n    commands: [x]\n", 3,
     "did you mean 'pre_build'"),
    ("unknown-phase-key", "version: 0.2\nphases:\n  build:\n    command: [x]\n", 4,
     "did you mean 'commands'"),
    ("phase-no-commands", "version: 0.2\nphases:\n  build:\n    run-as: root\n", 4,
     "needs 'commands'"),
    ("command-mapping", "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"
     "      - echo a: b\n", 6, "read as a mapping"),
    ("command-empty", "version: 0.2\nphases:\n  build:\n    commands:\n      -\n", 5,
     "non-empty string"),
    ("runtime-outside-install", "version: 0.2\nphases:\n  build:\n    runtime-versions:\n"
     "      nodejs: 20\n    commands: [x]\n", 4, "only allowed in the install phase"),
    ("runtime-empty", "version: 0.2\nphases:\n  install:\n    runtime-versions: {}\n"
     "    commands: [x]\n", 4, "runtime-versions is empty"),
    ("on-failure-bad", "version: 0.2\nphases:\n  build:\n    on-failure: ABROT\n"
     "    commands: [x]\n", 4, "did you mean 'ABORT'"),
    ("on-failure-too-many", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-101\n"
     "    commands: [x]\n", 4, "the most is 100"),
    ("on-failure-bad-regex", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2-(\n"
     "    commands: [x]\n", 4, "invalid regular expression"),
    ("shell-unknown", "version: 0.2\nenv:\n  shell: zsh\nphases:\n  build:\n    commands: [x]\n",
     3, "env.shell must be one of"),
    ("var-reserved", "version: 0.2\nenv:\n  variables:\n    CODEBUILD_X: y\nphases:\n"
     "  build:\n    commands: [x]\n", 4, "reserved"),
    ("var-bad-name", "version: 0.2\nenv:\n  variables:\n    1ABC: y\nphases:\n  build:\n"
     "    commands: [x]\n", 4, "not a valid variable name"),
    ("var-null", "version: 0.2\nenv:\n  variables:\n    A:\nphases:\n  build:\n"
     "    commands: [x]\n", 4, "must be a value"),
    ("var-mapping", "version: 0.2\nenv:\n  variables:\n    A:\n      b: c\nphases:\n  build:\n"
     "    commands: [x]\n", 5, "must be a value"),
    ("var-defined-twice", "version: 0.2\nenv:\n  variables:\n    A: b\n  parameter-store:\n"
     "    A: /p\nphases:\n  build:\n    commands: [x]\n", 6, "more than one"),
    ("param-empty", "version: 0.2\nenv:\n  parameter-store:\n    A: ''\nphases:\n  build:\n"
     "    commands: [x]\n", 4, "must name a parameter"),
    ("secret-too-many-parts", "version: 0.2\nenv:\n  secrets-manager:\n    A: s:k:st:id:x\n"
     "phases:\n  build:\n    commands: [x]\n", 4, "secret-id[:json-key"),
    ("secret-bad-arn", "version: 0.2\nenv:\n  secrets-manager:\n    A: arn:aws:ssm:x\n"
     "phases:\n  build:\n    commands: [x]\n", 4, "secret-id[:json-key"),
    ("secret-stage-and-id", "version: 0.2\nenv:\n  secrets-manager:\n    A: s:k:AWSCURRENT:v1\n"
     "phases:\n  build:\n    commands: [x]\n", 4, "both a version stage and a version id"),
    ("export-aws", "version: 0.2\nenv:\n  exported-variables:\n    - AWS_REGION\nphases:\n"
     "  build:\n    commands: [x]\n", 4, "AWS_"),
    ("export-secret", "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: s\n"
     "  exported-variables:\n    - TOKEN\nphases:\n  build:\n    commands: [x]\n", 6,
     "never exported"),
    ("flag-bad", "version: 0.2\nenv:\n  git-credential-helper: maybe\nphases:\n  build:\n"
     "    commands: [x]\n", 3, "must be yes or no"),
    ("batch-not-mapping", "version: 0.2\nbatch: fast\nphases:\n  build:\n    commands: [x]\n",
     2, "batch must be a mapping"),
    ("run-as-two-words", "version: 0.2\nrun-as: a b\nphases:\n  build:\n    commands: [x]\n",
     2, "one Linux user name"),
    ("artifacts-no-files", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n"
     "  name: x\n", 6, "needs 'files'"),
    ("artifacts-empty-files", "version: 0.2\nphases:\n  build:\n    commands: [x]\n"
     "artifacts:\n  files: []\n", 6, "at least one"),
    ("secondary-bad-id", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n"
     "  files: [a]\n  secondary-artifacts:\n    bad-id:\n      files: [b]\n", 8,
     "identifier 'bad-id'"),
    ("report-format", "version: 0.2\nphases:\n  build:\n    commands: [x]\nreports:\n  unit:\n"
     "    files: [a]\n    file-format: JUNIT\n", 8, "file-format must be one of"),
    ("report-no-files", "version: 0.2\nphases:\n  build:\n    commands: [x]\nreports:\n"
     "  unit:\n    base-directory: r\n", 7, "needs 'files'"),
    ("too-many-reports", "version: 0.2\nphases:\n  build:\n    commands: [x]\nreports:\n"
     + "".join(f"  r{i}:\n    files: [a]\n" for i in range(6)), 6, "at most 5"),
    ("cache-no-paths", "version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n"
     "  key: k\n", 6, "needs 'paths'"),
    ("cache-action", "version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n"
     "  paths: [a]\n  action: load\n", 7, "cache.action must be one of"),
    ("cache-fallbacks", "version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n"
     "  paths: [a]\n  fallback-keys: [a, b, c, d, e, f]\n", 7, "at most 5"),
    ("key-not-scalar", "version: 0.2\n? [a, b]\n: c\nphases:\n  build:\n    commands: [x]\n", 2,
     "not a plain name"),
]


# Where the reference is silent, CodeBuild goes on: accepted, with a warning at the line.
WARNED = [
    ("version-0.1", "version: 0.1\nphases:\n  build:\n    commands: [x]\n", 1, "own shell"),
    ("phase-null", "version: 0.2\nphases:\n  build:\n", 3, "phase build is empty"),
    ("duplicate-key", "version: 0.2\nphases:\n  build:\n    commands: [x]\n  build:\n"
     "    commands: [y]\n", 5, "duplicate key 'build'"),
    ("env-unknown", "version: 0.2\nenv:\n  variable:\n    A: b\nphases:\n  build:\n"
     "    commands: [x]\n", 3, "did you mean 'variables'"),
    ("proxy-unknown", "version: 0.2\nproxy:\n  log: yes\nphases:\n  build:\n"
     "    commands: [x]\n", 3, "did you mean 'logs'"),
    ("artifacts-unknown", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n"
     "  files: [a]\n  base-dir: dist\n", 7, "did you mean 'base-directory'"),
    ("secondary-nested", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n"
     "  files: [a]\n  secondary-artifacts:\n    one:\n      files: [b]\n"
     "      secondary-artifacts: {}\n", 10, "unknown key 'secondary-artifacts'"),
    ("commands-empty", "version: 0.2\nphases:\n  build:\n    commands:\n", 4,
     "phases.build.commands is empty"),
]


@pytest.mark.parametrize(("text", "line", "words"), [c[1:] for c in WARNED],
                         ids=[c[0] for c in WARNED])
def test_silent_cases_warn_at_their_line(text, line, words):
    spec = parse_buildspec(text, "case.yml")
    assert any(w.line == line and words in f"{w.message} {w.fix}" for w in spec.warnings), \
        spec.warnings


def test_commands_may_be_one_string():
    spec = parse_buildspec("version: 0.2\nphases:\n  build:\n    commands: make all\n")
    assert spec.phase("build").commands == ("make all",)
    assert spec.line_of("phases", "build", "commands", 0) == 4
    assert spec.warnings == ()


@pytest.mark.parametrize(("text", "line", "rule"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_buildspecs_name_line_and_rule(text, line, rule):
    with pytest.raises(BuildspecError) as info:
        parse_buildspec(text, "case.yml")
    err = info.value
    assert err.source == "case.yml"
    assert err.line == line
    assert rule in err.rule
    assert "Fix: " in err.rule


def test_load_buildspec_names_missing_file(tmp_path):
    with pytest.raises(BuildspecError) as info:
        load_buildspec(tmp_path / "nope.yml")
    assert info.value.source.endswith("nope.yml")
    assert info.value.line is None


def test_load_buildspec_reads_file(tmp_path):
    path = tmp_path / "buildspec.yml"
    path.write_text(textwrap.dedent("""\
        version: 0.2
        phases:
          build:
            commands:
              - make
        """))
    assert load_buildspec(path).phase("build").commands == ("make",)


def test_errors_never_echo_variable_values():
    text = ("version: 0.2\nenv:\n  variables:\n    DB_PASSWORD:\n      nested: hunter2-secret\n"
            "phases:\n  build:\n    commands: [x]\n")
    with pytest.raises(BuildspecError) as info:
        parse_buildspec(text)
    assert "hunter2" not in str(info.value)


# -- property: anything YAML can say fails only with BuildspecError ----------------------------

_VOCABULARY = (*TOP_LEVEL_KEYS, *ENV_KEYS, *PHASE_NAMES, *PHASE_KEYS, *ARTIFACT_KEYS,
               *CACHE_KEYS, "variables", "files", "0.2")
_keys = st.one_of(st.sampled_from(_VOCABULARY), st.text(max_size=8),
                  st.integers(), st.booleans())
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.text(max_size=20), st.sampled_from(["0.2", "0.1", "RETRY-3-x", "yes"]))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=25,
)
_documents = st.dictionaries(_keys, _values, max_size=6)


@pytest.mark.slow  # 300 random documents: `make test` and CI, not the quick `make check`
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents, st.booleans())
def test_random_mappings_only_raise_buildspec_error(document, with_skeleton):
    if with_skeleton:  # reach the deeper sections by starting from a valid shape
        document = {"version": 0.2, "phases": {"build": {"commands": ["make"]}}, **document}
    text = yaml.safe_dump(document, allow_unicode=True)
    try:
        spec = parse_buildspec(text)
    except BuildspecError as err:
        assert err.source == "buildspec.yml"
        return
    assert spec.version == "0.2"
    assert all(isinstance(c, str) for p in spec.phases for c in p.commands)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_random_text_only_raises_buildspec_error(text):
    try:
        parse_buildspec(text)
    except BuildspecError:
        pass
