"""Buildspec versions 0.1 and 0.2 as dataclasses that keep their line numbers.

A buildspec mistake otherwise shows up as a failed build minutes after a push; the validator
(:mod:`runbook_lib.buildspec.validate`) fails at once with the file, the line and the rule, and
returns these types. The local build runner executes them, so the model is complete and plain:
phases in run order, commands as strings, the environment as three dicts. Where CodeBuild's
reference is silent the validator accepts and records a :class:`SpecWarning` instead of
refusing; docs/buildspec.md lists every rule with its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PHASE_NAMES = ("install", "pre_build", "build", "post_build")
VERSIONS = ("0.1", "0.2")
TOP_LEVEL_KEYS = ("version", "run-as", "env", "proxy", "batch", "phases", "reports",
                  "artifacts", "cache")
# Keys other AWS services read from the same file: Elastic Beanstalk's sample buildspec
# (sample-elastic-beanstalk.html) adds eb_codebuild_settings, and CodeBuild runs it.
KNOWN_EXTENSION_KEYS = ("eb_codebuild_settings",)
ENV_KEYS = ("shell", "variables", "parameter-store", "secrets-manager", "exported-variables",
            "git-credential-helper")
PROXY_KEYS = ("upload-artifacts", "logs")
PHASE_KEYS = ("run-as", "on-failure", "runtime-versions", "commands", "finally")
REPORT_KEYS = ("files", "base-directory", "discard-paths", "file-format")
ARTIFACT_KEYS = ("files", "name", "discard-paths", "base-directory", "exclude-paths",
                 "enable-symlinks", "s3-prefix", "secondary-artifacts")
CACHE_KEYS = ("paths", "key", "fallback-keys", "action")
LINUX_SHELLS = ("bash", "/bin/sh")
WINDOWS_SHELLS = ("powershell.exe", "cmd.exe")
SHELLS = LINUX_SHELLS + WINDOWS_SHELLS
TEST_REPORT_FORMATS = ("JUNITXML", "CUCUMBERJSON", "NUNITXML", "NUNIT3XML", "TESTNGXML",
                       "VISUALSTUDIOTRX")
COVERAGE_REPORT_FORMATS = ("CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV")
REPORT_FILE_FORMATS = TEST_REPORT_FORMATS + COVERAGE_REPORT_FORMATS
CACHE_ACTIONS = ("restore", "save")
MAX_REPORT_GROUPS = 5
MAX_FALLBACK_KEYS = 5
MAX_RETRY_COUNT = 100
DEFAULT_RETRY_COUNT = 3
DEFAULT_RETRY_REGEX = ".*"

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecWarning:
    """Something CodeBuild accepts (or where its reference is silent) but that is likely a
    mistake: the buildspec still validates, and the lint shows it as a warning."""

    line: int | None
    rule_id: str
    message: str
    fix: str


@dataclass(frozen=True)
class OnFailure:
    """What CodeBuild does when a phase fails: ABORT the build, CONTINUE, or RETRY the phase."""

    action: str = "ABORT"
    retry_count: int = 0
    retry_regex: str = ""

    @property
    def retries(self) -> bool:
        return self.action == "RETRY"


@dataclass(frozen=True)
class Phase:
    """One phase; ``commands`` stop at the first failure, ``finally_commands`` always run."""

    name: str
    commands: tuple[str, ...] = ()
    finally_commands: tuple[str, ...] = ()
    run_as: str | None = None
    on_failure: OnFailure = OnFailure()
    runtime_versions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretRef:
    """``secret-id:json-key:version-stage:version-id``; empty parts mean the whole secret,
    version stage AWSCURRENT."""

    secret_id: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""


@dataclass(frozen=True)
class EnvSection:
    """Build environment: plaintext ``variables``, ``parameter_store`` names, secret refs."""

    shell: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    parameter_store: Mapping[str, str] = field(default_factory=dict)
    secrets_manager: Mapping[str, SecretRef] = field(default_factory=dict)
    exported_variables: tuple[str, ...] = ()
    git_credential_helper: bool = False


@dataclass(frozen=True)
class Proxy:
    upload_artifacts: bool = False
    logs: bool = False


@dataclass(frozen=True)
class ReportGroup:
    """A report group; ``file_format`` is upper case whatever the file wrote (the reference
    says the value is not case sensitive)."""

    name: str
    files: tuple[str, ...]
    base_directory: str | None = None
    discard_paths: bool = False
    file_format: str = "JUNITXML"

    @property
    def is_coverage(self) -> bool:
        return self.file_format in COVERAGE_REPORT_FORMATS


@dataclass(frozen=True)
class Artifacts:
    """Build output; ``secondary`` maps artifact identifiers to their own definitions."""

    files: tuple[str, ...]
    name: str | None = None
    discard_paths: bool = False
    base_directory: str | None = None
    exclude_paths: tuple[str, ...] = ()
    enable_symlinks: bool = False
    s3_prefix: str | None = None
    secondary: Mapping[str, Artifacts] = field(default_factory=dict)


@dataclass(frozen=True)
class Cache:
    """Cached paths; ``action`` None means restore and save (CodeBuild's default)."""

    paths: tuple[str, ...]
    key: str | None = None
    fallback_keys: tuple[str, ...] = ()
    action: str | None = None


@dataclass(frozen=True)
class BatchTask:
    """One build of a batch: its identifier, its own buildspec (or the same file), variable
    overrides, and for a build graph the tasks it waits for."""

    identifier: str
    buildspec: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)  # image, compute-type, ...
    ignore_failure: bool = False
    depend_on: tuple[str, ...] = ()
    debug_session: bool = False


@dataclass(frozen=True)
class Batch:
    """A batch section: ``kind`` is build-list, build-graph or build-matrix; a matrix is
    already expanded into one task per combination, as CodeBuild starts them."""

    kind: str
    tasks: tuple[BatchTask, ...]
    fast_fail: bool = False


@dataclass(frozen=True)
class Buildspec:
    """A validated buildspec; ``lines`` maps key paths (``("phases", "build", "commands", 0)``)
    to 1-based line numbers. ``version`` "0.1" runs each command in its own shell."""

    source: str
    version: str
    phases: tuple[Phase, ...]
    env: EnvSection = EnvSection()
    run_as: str | None = None
    proxy: Proxy | None = None
    batch: Batch | None = None
    reports: Mapping[str, ReportGroup] = field(default_factory=dict)
    artifacts: Artifacts | None = None
    cache: Cache | None = None
    warnings: tuple[SpecWarning, ...] = ()
    lines: Mapping[PathKey, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def shares_one_shell(self) -> bool:
        """Version 0.2 runs all commands in one shell; 0.1 gives each command its own."""
        return self.version != "0.1"

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    def line_of(self, *path: str | int) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        key: PathKey = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None


# The parser (load_buildspec, parse_buildspec) lives in validate.py: it needs the types above,
# and importing it back here would close an import cycle.
__all__ = ["Artifacts", "Batch", "BatchTask", "Buildspec", "Cache", "EnvSection", "OnFailure",
           "Phase", "Proxy", "ReportGroup", "SecretRef", "SpecWarning"]
