"""The rules every parameter obeys, as a table, plus the few checks that span fields.

A rule names its field, the test, the rule in words and a valid example, so that every refusal
reads the same way: field, value, rule, fix. Checks that need two fields at once (the source
repository's shape depends on its provider, staging and production must differ...) follow the
table as small functions.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook_lib.core import redact, secret_shapes
from runbook_lib.core.errors import ParameterError, SecretParameterError

TARGETS = ("local", "aws")
SOURCE_PROVIDERS = ("github", "gitlab", "bitbucket", "codecommit", "s3")
DEPLOY_PROVIDERS = ("s3", "ecs", "codedeploy-ecs", "codedeploy-ec2", "cloudformation")
BUILD_TEMPLATES = ("nodejs", "docker", "python")
CACHE_MODES = ("s3", "local", "none")
COMPUTE_TYPES = (
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
)
CONNECTION_PROVIDERS = ("github", "gitlab", "bitbucket")
EXECUTION_MODES = ("SUPERSEDED", "QUEUED", "PARALLEL")
SECRET_ENV_PREFIX = "RUNBOOK_SECRET_"

# The sample app's repository id, and what only the sample app gets when a field is not given:
# its build template, one plaintext variable, and placeholder config and secrets that notebook
# 06 teaches with. Any other repository gets none of them (the template is detected from it).
SAMPLE_REPO = "acme/sample-app"
SAMPLE_DEFAULTS: dict[str, Any] = {
    "build_template": "nodejs",
    "plaintext_variables": ("NODE_ENV=production",),
    "config_parameters": ("LOG_LEVEL=info", "FEATURE_FLAGS=none"),
    "secret_names": ("API_KEY",),
    "secure_config_names": ("DB_URL",),
}

_APP_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
_REGION_RE = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)(-gov)?-[a-z]+-[1-9]$")
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_CODECOMMIT_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_CONNECTION_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)?:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_KMS_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)?:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+$")
_IMAGE_RE = re.compile(r"^[a-z0-9./_:-]{3,255}$")
_ENV_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
_HTTPS_URL_RE = re.compile(r"^https?://[^\s]+$")
_ECS_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CONNECTION_EXAMPLE = ("arn:aws:codeconnections:us-east-1:123456789012:connection/"
                       "0a1b2c3d-1111-2222-3333-444455556666")


@dataclass(frozen=True)
class Rule:
    """One field's rule. ``optional``: the empty string passes (the value is then derived)."""

    field: str
    test: Callable[[Any], bool]
    rule: str
    example: str
    optional: bool = False

    def check(self, value: Any) -> None:
        if self.optional and value == "":
            return
        if not self.test(value):
            raise ParameterError(self.field, value, self.rule, self.example)


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def _choice(field: str, choices: tuple[str, ...]) -> Rule:
    return Rule(field, lambda value: value in choices, f"must be one of {', '.join(choices)}",
                choices[0])


def _whole(field: str, low: int, high: int, example: int) -> Rule:
    def test(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return Rule(field, test, f"must be a whole number from {low} to {high}", str(example))


def is_branch(value: object) -> bool:
    """A name git accepts as a branch (``git check-ref-format --branch``, the common cases)."""
    if not isinstance(value, str) or not value or len(value) > 250:
        return False
    if value.startswith(("-", "/")) or value.endswith(("/", ".lock", ".")) or value == "@":
        return False
    if ".." in value or "//" in value or "@{" in value:
        return False
    return not any(c in value for c in " ~^:?*[\\\t\n") and all(ord(c) >= 32 for c in value)


def _is_s3_key_ref(value: object) -> bool:
    if not isinstance(value, str):
        return False
    bucket, _, key = value.partition("/")
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket)) and bool(key)


def _is_repository_path(value: object) -> bool:
    """A relative file path in a repository: no absolute path, no '..', no empty part."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_./-]{1,255}", value):
        return False
    parts = value.split("/")
    return all(part not in ("", ".", "..") for part in parts)


_ECS_RULE = "1-255 letters, digits, '-' and '_' (empty means APP-cluster / APP-service)"
_ENV_RULE = "1-15 characters: lowercase letters, digits and hyphens, starting with a letter"

FIELD_RULES: tuple[Rule, ...] = (
    _choice("target", TARGETS),
    Rule("app_name", lambda v: _matches(_APP_RE)(v) and "--" not in v,
         "3-30 characters: lowercase letters, digits and single hyphens, starting with a letter "
         "and ending with a letter or digit (it becomes part of bucket, role and project names)",
         "sample-app"),
    Rule("region", _matches(_REGION_RE),
         "must be an AWS region code such as us-east-1 or eu-west-2", "us-east-1"),
    _choice("source_provider", SOURCE_PROVIDERS),
    Rule("source_branch", is_branch,
         "a git branch name: no spaces, no '..', no '~^:?*[\\', not starting with '-' or "
         "ending with '/' or '.lock'", "main"),
    Rule("connection_arn", _matches(_CONNECTION_ARN_RE),
         "a CodeConnections connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/"
         "UUID)", _CONNECTION_EXAMPLE, optional=True),
    Rule("build_template", lambda value: value in BUILD_TEMPLATES,
         f"must be one of {', '.join(BUILD_TEMPLATES)}, or empty: detected from the repository "
         "(package.json, pyproject.toml, requirements.txt, setup.py, Dockerfile)",
         BUILD_TEMPLATES[0], optional=True),
    Rule("buildspec_path", _is_repository_path,
         "a path inside the repository, as the build project's buildspec field takes it: "
         "relative, '/'-separated, letters, digits, '.', '_' and '-', no '..' part (empty: "
         "buildspec.yml or buildspec.yaml at the root)", "ci/buildspec.yml", optional=True),
    _choice("deploy_provider", DEPLOY_PROVIDERS),
    Rule("staging_name", _matches(_ENV_NAME_RE), _ENV_RULE, "staging"),
    Rule("production_name", _matches(_ENV_NAME_RE), _ENV_RULE, "production"),
    _choice("compute_type", COMPUTE_TYPES),
    Rule("build_image", _matches(_IMAGE_RE), "a CodeBuild image name",
         "aws/codebuild/amazonlinux2-x86_64-standard:5.0"),
    _whole("build_timeout_minutes", 5, 2160, 15),
    _choice("cache_mode", CACHE_MODES),
    Rule("kms_key_arn", _matches(_KMS_ARN_RE), "a KMS key or alias ARN",
         "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666",
         optional=True),
    _whole("noncurrent_version_days", 1, 3650, 30),
    Rule("review_url", _matches(_HTTPS_URL_RE), "an http(s) URL of the staging environment",
         "https://staging.example.com", optional=True),
    Rule("ecs_cluster", _matches(_ECS_NAME_RE), _ECS_RULE, "sample-cluster", optional=True),
    Rule("ecs_service", _matches(_ECS_NAME_RE), _ECS_RULE, "sample-service", optional=True),
    Rule("container_name", _matches(_ECS_NAME_RE), _ECS_RULE, "app"),
    _choice("execution_mode", EXECUTION_MODES),
)

# List fields: the whole value must be a tuple, then each entry obeys the rule.
ENTRY_RULES: tuple[Rule, ...] = (
    Rule("approval_emails", _matches(_EMAIL_RE), "each entry must be an e-mail address",
         "ops@example.com"),
    Rule("failure_emails", _matches(_EMAIL_RE), "each entry must be an e-mail address",
         "ops@example.com"),
    Rule("secret_names", lambda v: _matches(_SECRET_NAME_RE)(v) and "=" not in v,
         "names only (values come from RUNBOOK_SECRET_<NAME> or a prompt, never a parameter): "
         "letters, digits, '.', '_' and '-'", "API_KEY"),
    Rule("secure_config_names", lambda v: _matches(_SECRET_NAME_RE)(v) and "=" not in v,
         "names only (values come from RUNBOOK_SECRET_<NAME> or a prompt, never a parameter): "
         "letters, digits, '.', '_' and '-'", "DB_URL"),
)

# KEY=VALUE fields: the key pattern, a valid example, and where a secret belongs instead.
PAIR_FIELDS: dict[str, tuple[str, str, str]] = {
    "plaintext_variables": (r"[A-Za-z_][A-Za-z0-9_]{0,127}", "NODE_ENV=production",
                            "secret_names"),
    "config_parameters": (r"[A-Za-z0-9_.-]{1,128}", "LOG_LEVEL=info", "secure_config_names"),
}


def validate(p: Any) -> None:
    """Check every rule of the table, then the rules that span fields; raise on the first.

    Credential shapes are refused first, in any field, so that no other rule's refusal (which
    repeats the value) can echo one."""
    _refuse_secret_shapes(p)
    for rule in FIELD_RULES:
        rule.check(getattr(p, rule.field))
    for rule in ENTRY_RULES:
        _check_entries(rule, getattr(p, rule.field))
    for name, (key_pattern, example, secret_field) in PAIR_FIELDS.items():
        _check_pairs(name, getattr(p, name), key_pattern, example, secret_field)
    for check in CROSS_FIELD_CHECKS:
        check(p)


def _check_entries(rule: Rule, value: Any) -> None:
    if not isinstance(value, tuple):
        raise ParameterError(rule.field, value, "must be a list", rule.example)
    for entry in value:
        rule.check(entry)


def _check_pairs(name: str, value: Any, key_pattern: str, example: str, secret_field: str
                 ) -> None:
    """KEY=VALUE entries; an entry that looks like a secret is refused without its value."""
    if not isinstance(value, tuple):
        raise ParameterError(name, value, "must be a list of KEY=VALUE entries", example)
    for entry in value:
        key, sep, text = entry.partition("=") if isinstance(entry, str) else ("", "", "")
        # Show the key only: a value typed into the wrong field may be a secret.
        shown = f"{key}=…" if sep else ("…" if isinstance(entry, str) else entry)
        if not (sep and re.fullmatch(key_pattern, key)):
            raise ParameterError(name, shown, f"each entry must be KEY=VALUE with KEY matching "
                                 f"{key_pattern}", example)
        if redact.looks_secret(key, text):
            raise SecretParameterError(name, shown, secret_reason(key, text),
                                       secret_fix(key, secret_field))


def _refuse_secret_shapes(p: Any) -> None:
    """Any field, any entry: a URL with a password, a JWT, a key or a token is refused,
    named by its kind and its field (or KEY=), never shown."""
    for spec in dataclasses.fields(p):
        value = getattr(p, spec.name)
        for text in value if isinstance(value, tuple) else (value,):
            kinds = secret_shapes.secret_kinds(text) if isinstance(text, str) else []
            if kinds:
                key, sep, _ = text.partition("=") if spec.name in PAIR_FIELDS else ("", "", "")
                key = key if sep and re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", key) else ""
                names_field = PAIR_FIELDS.get(spec.name, ("", "", "secret_names"))[2]
                raise SecretParameterError(spec.name, f"{key or spec.name}=…",
                                           f"its value holds {kinds[0]}, not shown here",
                                           secret_fix(key, names_field))


def secret_reason(name: str, value: str) -> str:
    """Why something was taken for a secret, without repeating it."""
    if redact.looks_like_secret_name(name):
        return f"the name {name} announces a secret"
    return "its value has the shape of a credential, not shown here"


_WIRED_AS = {
    "secret_names": "the build reads it as a SECRETS_MANAGER variable",
    "secure_config_names": "a SecureString the build reads as a PARAMETER_STORE variable",
}


def secret_fix(key: str = "", secret_field: str = "secret_names") -> str:
    """How a secret reaches the suite instead: its name in a names field, its value outside.

    Without a ``key`` (a credential found in an ordinary field) the fix names a placeholder.
    """
    if not key:
        return (f"give the secret a name in {secret_field} (for example API_KEY) and its value "
                f"in the environment variable {SECRET_ENV_PREFIX}<NAME> (or type it at the "
                "hidden prompt of notebook 06, config and secrets)")
    env_name = re.sub(r"[^A-Za-z0-9_]", "_", key.removeprefix(SECRET_ENV_PREFIX)).upper()
    return (f"list {env_name} in {secret_field} ({_WIRED_AS[secret_field]}) and give its value "
            f"in the environment variable {SECRET_ENV_PREFIX}{env_name} (or type it at the "
            "hidden prompt of notebook 06, config and secrets)")


# -- checks that span fields ---------------------------------------------------------------------

def _repository(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    """A repository id: the pattern, and no part that is '.' or '..' (a path, not a name: the
    local AWS would map it to a folder outside its repositories)."""
    return lambda value: _matches(pattern)(value) and not any(
        part in (".", "..") for part in value.split("/"))


_REPO_RULES = {
    "codecommit": (_repository(_CODECOMMIT_REPO_RE),
                   "a CodeCommit repository name (letters, digits, . _ -; not . or ..)",
                   "sample-app"),
    "s3": (_is_s3_key_ref, "BUCKET/KEY of a zip file in S3", "my-source-bucket/app.zip"),
}


def _source_repo_fits_provider(p: Any) -> None:
    test, rule, example = _REPO_RULES.get(
        p.source_provider, (_repository(_REPO_RE), "OWNER/NAME of the repository (neither part "
                            ". or ..)", "acme/sample-app"))
    Rule("source_repo", test, rule, example).check(p.source_repo)


def _stages_differ(p: Any) -> None:
    if p.staging_name == p.production_name:
        raise ParameterError("production_name", p.production_name,
                             "must differ from staging_name", "production")


def _aws_connection_given(p: Any) -> None:
    if p.target == "aws" and p.source_provider in CONNECTION_PROVIDERS and not p.connection_arn:
        raise ParameterError(
            "connection_arn", "",
            f"required on target 'aws' for source_provider={p.source_provider!r}: create the "
            "connection in the console (Developer Tools > Connections) and pass its ARN",
            _CONNECTION_EXAMPLE)


def _bucket_names_fit(p: Any) -> None:
    """Derived bucket names (APP-STAGE-ACCOUNT-REGION) must stay within S3's 63 characters."""
    longest = max(len(p.staging_name), len(p.production_name), len("artifacts"))
    bucket_len = len(p.app_name) + 1 + longest + 1 + 12 + 1 + len(p.region)
    if bucket_len > 63:
        raise ParameterError(
            "app_name", p.app_name,
            f"derived bucket names would be {bucket_len} characters, over S3's 63 "
            "(APP-artifacts-ACCOUNT-REGION); shorten app_name or the stage names", "sample-app")


CROSS_FIELD_CHECKS: tuple[Callable[[Any], None], ...] = (
    _source_repo_fits_provider, _stages_differ, _aws_connection_given, _bucket_names_fit,
)
