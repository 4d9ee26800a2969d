"""Lint a parsed buildspec for the practices the guide teaches, pointing at the line.

Validation (``runbook_lib.buildspec.model``) says whether CodeBuild accepts a buildspec; the lint
says whether it is a good one: reproducible installs, tests that fail early, a dependency
cache, minimal and versioned artifacts, and no secrets in plain text. A finding about a secret
never repeats the value, since findings are printed into notebooks and reports.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.buildspec.model import Artifacts, Buildspec
from runbook_lib.buildspec.templates import SAMPLE_BUILDSPEC, SAMPLE_BUILDSPEC_NAME
from runbook_lib.buildspec.validate import load_buildspec, parse_buildspec
from runbook_lib.core import redact, secret_shapes
from runbook_lib.core.errors import BuildspecError

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
FINDING_HEADERS = ("line", "severity", "rule", "finding", "fix")

_SEGMENT_SPLIT_RE = re.compile(r"&&|\|\||[;|\n]")
_NPM_INSTALL_RE = re.compile(r"^npm\s+(install|i)(\s|$)")
_TEST_RE = re.compile(
    r"\b(npm\s+(run\s+)?test|npm\s+t|yarn\s+(run\s+)?test|pnpm\s+(run\s+)?test|pytest"
    r"|python3?\s+-m\s+(pytest|unittest)|go\s+test|mvn\b.*\b(test|verify)|gradlew?\b.*\btest"
    r"|cargo\s+test|dotnet\s+test|tox|jest|mocha|rspec|phpunit)\b"
)
_SHELL_LIST_RE = re.compile(r"&&|\|\||;|\|")
# A package manager installing (a test runner among its packages is installed, not run).
_INSTALL_RE = re.compile(
    r"\s*(sudo\s+)?(\S+/)?(pip3?|python3?\s+-m\s+pip|npm|yarn|pnpm|gem|apt-get|apt|yum|dnf|apk"
    r"|brew|poetry|uv(\s+pip)?|pipx)\s+(install|add|i|ci)\b")
_DOCKER_RE = re.compile(r"(^|[\s;&|(])(docker(-compose)?|dockerd|buildx)(\s|$)")
# Tool detectors -> the folders a cache block should keep between builds.
_DEPENDENCY_TOOLS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("npm", re.compile(r"\b(npm\s+(ci|install|i)|yarn|pnpm\s+install)\b"),
     ("node_modules/**/*", "/root/.npm/**/*")),
    ("pip", re.compile(r"\b(pip3?|python3?\s+-m\s+pip)\s+install\b"), ("/root/.cache/pip/**/*",)),
    ("maven", re.compile(r"\bmvn\b"), ("/root/.m2/**/*",)),
    ("gradle", re.compile(r"\bgradlew?\b"), ("/root/.gradle/caches/**/*",)),
)
_EVERYTHING = ("**/*", "**", "*", "./**/*", "**/**")


@dataclass(frozen=True)
class LintFinding:
    """One practice a buildspec misses: where, how bad, what, and how to fix it."""

    rule_id: str
    severity: str
    line: int | None
    message: str
    fix: str


@dataclass(frozen=True)
class Command:
    """A command with where it sits, so findings can point at it."""

    phase: str
    block: str  # commands or finally
    index: int
    text: str
    line: int | None


@dataclass(frozen=True)
class BuildspecCheck:
    """Validation and lint of one buildspec; a schema error becomes a ``schema`` finding."""

    source: str
    spec: Buildspec | None
    findings: tuple[LintFinding, ...]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not any(f.severity == ERROR for f in self.findings)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Rows for ``nb.table(check.rows(), FINDING_HEADERS)``; one row says "no findings"."""
        return finding_rows(self.findings) or [("-", "-", "-", "no findings", "-")]

    def summary(self) -> str:
        state = "valid" if self.spec is not None else "INVALID"
        counts = ", ".join(_plural(self.count(severity), noun) for severity, noun in
                           ((ERROR, "error"), (WARNING, "warning"), (INFO, "note")))
        return f"{self.source}: {state}; {counts}"


def lint_buildspec(spec: Buildspec) -> list[LintFinding]:
    """Every finding, in line order."""
    commands = list(iter_commands(spec))
    findings = [
        *_validation_warnings(spec),
        *_npm_install(commands),
        *_tests_outside_pre_build(commands),
        *_missing_cache(spec, commands),
        *_artifacts_ship_everything(spec),
        *_plaintext_secrets(spec),
        *_credentials_in_commands(commands),
        *_docker_latest_only(commands),
        *_privileged_docker(commands),
    ]
    return sorted(findings, key=lambda f: (f.line or 0, f.rule_id))


def check_text(text: str, source: str = "buildspec.yml") -> BuildspecCheck:
    """Parse then lint; a schema error is reported as a finding instead of raised."""
    try:
        spec = parse_buildspec(text, source)
    except BuildspecError as err:
        return _schema_failure(source, err)
    return BuildspecCheck(source, spec, tuple(lint_buildspec(spec)))


def check_file(path: str | Path = "") -> BuildspecCheck:
    """Check a buildspec file; an empty path checks the sample app's.

    The sample app's file is named relative to the package, so stored notebook outputs do not
    depend on where the repository is checked out.
    """
    target = Path(path) if path else SAMPLE_BUILDSPEC
    source = str(path) if path else SAMPLE_BUILDSPEC_NAME
    try:
        spec = load_buildspec(target, source)
    except BuildspecError as err:
        return _schema_failure(source, err)
    return BuildspecCheck(source, spec, tuple(lint_buildspec(spec)))


def finding_rows(findings: tuple[LintFinding, ...] | list[LintFinding]
                 ) -> list[tuple[str, str, str, str, str]]:
    return [(str(f.line or "-"), f.severity, f.rule_id, f.message, f.fix) for f in findings]


def iter_commands(spec: Buildspec) -> Iterator[Command]:
    """Every command of every phase, in run order, with its line."""
    for phase in spec.phases:
        for block, commands in (("commands", phase.commands), ("finally", phase.finally_commands)):
            for index, text in enumerate(commands):
                yield Command(phase.name, block, index, text,
                              spec.line_of("phases", phase.name, block, index))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _schema_failure(source: str, err: BuildspecError) -> BuildspecCheck:
    message, _, fix = err.rule.partition(" Fix: ")
    return BuildspecCheck(source, None,
                          (LintFinding("schema", ERROR, err.line, message.rstrip("."), fix),))


def _segments(text: str) -> list[str]:
    return [s.strip() for s in _SEGMENT_SPLIT_RE.split(text) if s.strip()]


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment)
    except ValueError:
        return segment.split()


# -- rules ------------------------------------------------------------------------------------


def _validation_warnings(spec: Buildspec) -> Iterator[LintFinding]:
    """What the validator accepted where CodeBuild's reference is silent (unknown keys...)."""
    for warning in spec.warnings:
        yield LintFinding(warning.rule_id, WARNING, warning.line, warning.message, warning.fix)


def _npm_install(commands: list[Command]) -> Iterator[LintFinding]:
    """`npm install` of the project may rewrite the lockfile; CI wants `npm ci`."""
    for cmd in commands:
        for segment in _segments(cmd.text):
            if not _NPM_INSTALL_RE.match(segment):
                continue
            packages = [w for w in _words(segment)[2:] if not w.startswith("-")]
            if packages:  # installing a named tool (npm install -g x) is a different thing
                continue
            yield LintFinding(
                "npm-ci", WARNING, cmd.line,
                f"phases.{cmd.phase}: '{segment}' may change package-lock.json and install "
                "versions nobody tested",
                "use 'npm ci': it installs exactly what package-lock.json pins, and fails if "
                "package.json and the lockfile disagree",
            )


def _test_run(text: str) -> re.Match[str] | None:
    """The test runner a command runs; installing one (``pip install pytest``, ``npm i -g
    mocha``) runs nothing. Each part of a shell list (``&&``, ``||``, ``;``, ``|``) on its own."""
    for part in _SHELL_LIST_RE.split(text):
        if not _INSTALL_RE.match(part):
            found = _TEST_RE.search(part)
            if found:
                return found
    return None


def _tests_outside_pre_build(commands: list[Command]) -> Iterator[LintFinding]:
    """Tests in pre_build stop a broken commit before the build spends time on it."""
    for cmd in commands:
        if cmd.phase == "pre_build":
            continue
        match = _test_run(cmd.text)
        if match:
            yield LintFinding(
                "tests-in-pre-build", WARNING, cmd.line,
                f"'{match.group(0)}' runs in phases.{cmd.phase}, not pre_build",
                "move the test command to phases.pre_build so a failing test stops the build "
                "before it builds anything",
            )


def _missing_cache(spec: Buildspec, commands: list[Command]) -> Iterator[LintFinding]:
    """Without a cache every build downloads all dependencies again."""
    if spec.cache is not None:
        return
    for tool, pattern, folders in _DEPENDENCY_TOOLS:
        first = next((c for c in commands if pattern.search(c.text)), None)
        if first is None:
            continue
        listed = ", ".join(f"'{folder}'" for folder in folders)
        yield LintFinding(
            "dependency-cache", WARNING, first.line,
            f"{tool} downloads dependencies on every build: there is no cache block",
            f"add 'cache:' with 'paths:' {listed}, and enable the build project's cache",
        )


def _artifacts_ship_everything(spec: Buildspec) -> Iterator[LintFinding]:
    """Shipping the whole checkout deploys sources, tests and secrets files with the app."""
    if spec.artifacts is None:
        return
    sets: list[tuple[tuple[str, ...], Artifacts]] = [(("artifacts",), spec.artifacts)]
    sets += [(("artifacts", "secondary-artifacts", ident), art)
             for ident, art in spec.artifacts.secondary.items()]
    for path, art in sets:
        if (art.base_directory or ".").strip().strip("/") not in ("", "."):
            continue
        for index, pattern in enumerate(art.files):
            if pattern.strip() in _EVERYTHING:
                yield LintFinding(
                    "minimal-artifacts", WARNING, spec.line_of(*path, "files", index),
                    f"{'.'.join(path)} ships '{pattern}' from the repository root: sources, "
                    "tests and dev files go out with the build",
                    "build into a folder (for example dist/) and set 'base-directory: dist', "
                    "or list the exact files the deploy needs",
                )


def _plaintext_secrets(spec: Buildspec) -> Iterator[LintFinding]:
    """Plaintext variables show in the console, the API and logs; secrets belong elsewhere."""
    for name, value in spec.env.variables.items():
        kinds = secret_shapes.secret_kinds(value)
        if redact.looks_like_secret_name(name):
            why = "its name says it holds a secret"
        elif kinds:
            why = f"its value holds {kinds[0]} (value not shown)"
        elif redact.looks_like_secret_value(value):
            why = "its value looks like a credential (value not shown)"
        else:
            continue
        yield LintFinding(
            "plaintext-secret", ERROR, spec.line_of("env", "variables", name),
            f"env.variables.{name} is plain text but {why}",
            f"store it in Secrets Manager and reference it under env.secrets-manager "
            f"({name}: secret-id:json-key), or as a SecureString under env.parameter-store; "
            "then rotate the exposed value, since it is in the repository history",
        )


# What a credential written into a command looks like, by kind. A reference ($VAR, ${VAR},
# $(cmd)) is the right way and never matches: the literal patterns need the value itself.
_LITERAL = r"""(?!\$)(?P<q>['"]?)(?!\$)[^\s'"$;&|]{4,}"""
# The kinds every credential has (keys, tokens, URL passwords, JWTs) come from
# core.secret_shapes, the detector parameters and logs use too; these add what only a command
# line shows: a literal after a telling option or variable name.
_CREDENTIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an npm token", re.compile(r"_authToken=" + _LITERAL)),
    ("a Slack token", re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/"
                                 r"[A-Za-z0-9]+")),
    ("an AWS secret access key", re.compile(r"AWS_SECRET_ACCESS_KEY\s*=\s*" + _LITERAL)),
    ("a password or token literal", re.compile(
        r"(?i)(?<![A-Za-z0-9])[A-Za-z_]*(password|passwd|secret|token|api_?key)\s*[=:]\s*"
        + _LITERAL.replace("{4,}", "{3,}"))),
    ("a password or token literal", re.compile(
        r"(?i)\s--?[a-z-]*(password|passwd|secret|token|api-?key)\s+" + _LITERAL)),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+(?!\$)[A-Za-z0-9._~+/-]{12,}")),
)


def credential_kinds(text: str) -> list[str]:
    """The kinds of credential written literally into ``text`` (the values are not returned)."""
    found = secret_shapes.secret_kinds(text) + [
        kind for kind, pattern in _CREDENTIAL_PATTERNS if pattern.search(text)]
    return list(dict.fromkeys(found))


def _credentials_in_commands(commands: list[Command]) -> Iterator[LintFinding]:
    """A credential typed into a command is in the repository, the console and the build log."""
    for cmd in commands:
        kinds = credential_kinds(cmd.text)
        if not kinds:
            continue
        yield LintFinding(
            "credential-in-command", ERROR, cmd.line,
            f"phases.{cmd.phase}.{cmd.block}[{cmd.index}] holds {' and '.join(kinds[:2])} "
            "written literally (value not shown)",
            "remove it and reference it instead: declare it under env.secrets-manager or "
            "env.parameter-store and use $NAME in the command (CodeBuild masks it in logs); "
            "then rotate the exposed value, since it is in the repository history",
        )


def _docker_latest_only(commands: list[Command]) -> Iterator[LintFinding]:
    """`latest` moves with every push: a rollback needs an image tag per commit."""
    first_line: int | None = None
    tags: list[str] = []
    seen_docker = False
    for cmd in commands:
        for segment in _segments(cmd.text):
            words = _words(segment)
            refs = _image_refs(words)
            if refs is None:
                continue
            if not seen_docker:
                seen_docker, first_line = True, cmd.line
            tags += [_tag_of(ref) for ref in refs]
    if seen_docker and all(tag == "latest" for tag in tags):
        yield LintFinding(
            "docker-latest-only", WARNING, first_line,
            "images are tagged only 'latest' (or not at all), so no image can be traced to a "
            "commit or rolled back to",
            "tag and push each image with the commit SHA, for example IMAGE_TAG=$(echo "
            "$CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7), and deploy that tag",
        )


def _privileged_docker(commands: list[Command]) -> Iterator[LintFinding]:
    """Docker in CodeBuild needs privileged mode, which is root on the build host."""
    first = next((c for c in commands if _DOCKER_RE.search(c.text)), None)
    if first is not None:
        yield LintFinding(
            "privileged-docker", INFO, first.line,
            "Docker commands need the build project to run in privileged mode",
            "enable privileged mode only on the project that builds images, and keep that "
            "project's role limited to pushing to its own ECR repository",
        )


def _image_refs(words: list[str]) -> list[str] | None:
    """Image references a docker build/tag/push segment names; None if it is none of those."""
    if not words or words[0] != "docker":
        return None
    args = words[1:]
    if args[:1] == ["buildx"]:
        args = args[1:]
    if args[:1] == ["build"]:
        refs = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--tag")]
        return refs + [a.split("=", 1)[1] for a in args if a.startswith("--tag=")]
    positional = [a for a in args[1:] if not a.startswith("-")]
    if args[:1] == ["tag"] and len(positional) >= 2:
        return [positional[1]]
    if args[:1] == ["push"] and positional:
        return [positional[0]]
    return None


def _tag_of(ref: str) -> str:
    """``repo/name:tag`` -> tag; no tag means Docker's implicit ``latest``."""
    if "@" in ref:
        return "digest"
    name = ref.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"
