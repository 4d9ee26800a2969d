"""Buildspec version 0.2: parse and validate into dataclasses that keep their line numbers.

A buildspec mistake otherwise shows up as a failed build minutes after a push; here it fails at
once with the file, the line and the rule. The local build runner executes what this module
returns, so the model is complete and plain: phases in run order, commands as strings, the
environment as three dicts. Lines come from PyYAML's composed nodes, so the lint can point at
the exact command it talks about.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runbook_lib.core.errors import BuildspecError

PHASE_NAMES = ("install", "pre_build", "build", "post_build")
TOP_LEVEL_KEYS = ("version", "run-as", "env", "proxy", "batch", "phases", "reports",
                  "artifacts", "cache")
ENV_KEYS = ("shell", "variables", "parameter-store", "secrets-manager", "exported-variables",
            "git-credential-helper")
PROXY_KEYS = ("upload-artifacts", "logs")
PHASE_KEYS = ("run-as", "on-failure", "runtime-versions", "commands", "finally")
REPORT_KEYS = ("files", "base-directory", "discard-paths", "file-format")
ARTIFACT_KEYS = ("files", "name", "discard-paths", "base-directory", "exclude-paths",
                 "enable-symlinks", "s3-prefix", "secondary-artifacts")
CACHE_KEYS = ("paths", "key", "fallback-keys", "action")
SHELLS = ("bash", "/bin/sh", "powershell.exe", "cmd.exe")
REPORT_FILE_FORMATS = ("JUNITXML", "CUCUMBERJSON", "NUNITXML", "NUNIT3XML", "TESTNGXML",
                       "VISUALSTUDIOTRX", "CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV")
CACHE_ACTIONS = ("restore", "save")
MAX_REPORT_GROUPS = 5
MAX_FALLBACK_KEYS = 5
MAX_RETRY_COUNT = 100
DEFAULT_RETRY_COUNT = 3
DEFAULT_RETRY_REGEX = ".*"

_NULL_TAG = "tag:yaml.org,2002:null"
_TRUE = ("yes", "true", "on")
_FALSE = ("no", "false", "off")
_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_]+$")
_ON_FAILURE_RE = re.compile(r"^RETRY(?:-(?P<count>\d+))?(?:-(?P<regex>.+))?$", re.S)

PathKey = tuple[str | int, ...]


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
    name: str
    files: tuple[str, ...]
    base_directory: str | None = None
    discard_paths: bool = False
    file_format: str = "JUNITXML"


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
class Buildspec:
    """A validated buildspec; ``lines`` maps key paths (``("phases", "build", "commands", 0)``)
    to 1-based line numbers."""

    source: str
    version: str
    phases: tuple[Phase, ...]
    env: EnvSection = EnvSection()
    run_as: str | None = None
    proxy: Proxy | None = None
    batch: Mapping[str, Any] | None = None
    reports: Mapping[str, ReportGroup] = field(default_factory=dict)
    artifacts: Artifacts | None = None
    cache: Cache | None = None
    lines: Mapping[PathKey, int] = field(default_factory=dict, repr=False, compare=False)

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


def parse_buildspec(text: str, source: str = "buildspec.yml") -> Buildspec:
    """Parse and validate buildspec YAML; raise :class:`BuildspecError` naming line and rule."""
    root = _compose(text, source)
    return _Reader(source).buildspec(root)


def load_buildspec(path: str | Path, source: str | None = None) -> Buildspec:
    """Read and parse a buildspec file; errors name ``source`` (default: the path)."""
    path = Path(path)
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BuildspecError(source, None, f"cannot read the file ({err}). Fix: pass the "
                             "path of a readable UTF-8 buildspec.yml") from err
    return parse_buildspec(text, source)


def _compose(text: str, source: str) -> Node:
    if not isinstance(text, str):
        raise BuildspecError(source, None, "the buildspec must be text. Fix: pass the YAML "
                             "as a string")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise BuildspecError(source, line, f"not valid YAML: {err.problem or err}. Fix: check "
                             "indentation and quote commands that contain ': '") from err
    except yaml.YAMLError as err:
        raise BuildspecError(source, None, f"not valid YAML: {err}. Fix: save the file as "
                             "plain UTF-8 YAML") from err
    except RecursionError as err:
        raise BuildspecError(source, None, "YAML nested too deeply. Fix: a buildspec needs "
                             "only a few levels of nesting") from err
    if root is None:
        raise BuildspecError(source, None, "the buildspec is empty. Fix: start with "
                             "'version: 0.2' and a 'phases' mapping")
    return root


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the document"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


class _Reader:
    """Walks the composed YAML along the schema, recording the line of every key and item."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[PathKey, int] = {}

    def fail(self, where: Node | int | None, rule: str, fix: str) -> NoReturn:
        """Raise for a node, or a line number when the error is about a key."""
        line = _line(where) if isinstance(where, Node) else where
        raise BuildspecError(self.source, line, f"{rule}. Fix: {fix}")

    # -- generic shapes -----------------------------------------------------------------------

    def mapping(self, node: Node, path: PathKey, allowed: tuple[str, ...] | None
                ) -> dict[str, Node]:
        """Keys to value nodes; unknown keys (when ``allowed``) fail with a "did you mean"."""
        if not isinstance(node, MappingNode) and not path:
            self.fail(node, "a buildspec must be a YAML mapping",
                      "start with 'version: 0.2' and a 'phases:' mapping")
        if not isinstance(node, MappingNode):
            self.fail(node, f"{_dotted(path)} must be a mapping of 'key: value' lines",
                      "indent its entries under it as 'key: value'")
        result: dict[str, Node] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode) or _is_null(key_node):
                self.fail(key_node, f"{_dotted(path)} has a key that is not a plain name",
                          "use plain text keys")
            key = key_node.value
            if allowed is not None and key not in allowed:
                self.fail(key_node, f"unknown key '{key}' in {_dotted(path)}",
                          _suggest(key, allowed))
            if key in result:
                self.fail(key_node, f"duplicate key '{key}' in {_dotted(path)}",
                          "keep one of the two entries")
            self.lines[(*path, key)] = _line(key_node)
            result[key] = value
        return result

    def text(self, node: Node, path: PathKey, what: str = "a single value") -> str:
        if not isinstance(node, ScalarNode) or _is_null(node):
            self.fail(node, f"{_dotted(path)} must be {what}",
                      "write it on the same line after the colon; quote it if it holds ': '")
        return node.value

    def flag(self, node: Node, path: PathKey) -> bool:
        value = self.text(node, path, "yes or no").strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.fail(node, f"{_dotted(path)} must be yes or no, not '{node.value}'",
                  "write yes or no")

    def choice(self, node: Node, path: PathKey, choices: tuple[str, ...]) -> str:
        value = self.text(node, path)
        if value not in choices:
            self.fail(node, f"{_dotted(path)} must be one of {', '.join(choices)}, not "
                      f"'{value}'", _suggest(value, choices))
        return value

    def strings(self, node: Node, path: PathKey, what: str, scalar_ok: bool = False,
                required: bool = False) -> tuple[str, ...]:
        """A list of plain strings (commands, paths); each item's line is recorded."""
        if scalar_ok and isinstance(node, ScalarNode) and not _is_null(node):
            self.lines[(*path, 0)] = _line(node)
            return (node.value,)
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{_dotted(path)} must be a list of {what}",
                      f"write each of the {what} on its own line starting with '- '")
        items = []
        for index, item in enumerate(node.value):
            if isinstance(item, MappingNode):
                self.fail(item, f"{_dotted((*path, index))} was read as a mapping because it "
                          "contains ': '", "put the whole entry in double quotes")
            if not isinstance(item, ScalarNode) or _is_null(item) or not item.value.strip():
                self.fail(item, f"{_dotted((*path, index))} must be a non-empty string",
                          f"write one of the {what} as text after '- '")
            self.lines[(*path, index)] = _line(item)
            items.append(item.value)
        if required and not items:
            self.fail(node, f"{_dotted(path)} must list at least one of the {what}",
                      f"add one line starting with '- ' under {path[-1]}")
        return tuple(items)

    def require(self, keys: dict[str, Node], key: str, node: Node, path: PathKey) -> Node:
        if key not in keys:
            self.fail(node, f"{_dotted(path)} needs '{key}'", f"add '{key}:' under it")
        return keys[key]

    # -- sections -----------------------------------------------------------------------------

    def buildspec(self, root: Node) -> Buildspec:
        top = self.mapping(root, (), TOP_LEVEL_KEYS)
        version = self.version(top, root)
        if "phases" not in top:
            self.fail(root, "the buildspec needs 'phases'",
                      "add 'phases:' with at least a 'build:' phase and its 'commands:'")
        env = self.env(top["env"]) if "env" in top else EnvSection()
        return Buildspec(
            source=self.source,
            version=version,
            phases=self.phases(top["phases"]),
            env=env,
            run_as=self.run_as(top["run-as"], ("run-as",)) if "run-as" in top else None,
            proxy=self.proxy(top["proxy"]) if "proxy" in top else None,
            batch=self.batch(top["batch"]) if "batch" in top else None,
            reports=self.reports(top["reports"]) if "reports" in top else {},
            artifacts=self.artifacts(top["artifacts"], ("artifacts",), True)
            if "artifacts" in top else None,
            cache=self.cache(top["cache"]) if "cache" in top else None,
            lines=dict(self.lines),
        )

    def version(self, top: dict[str, Node], root: Node) -> str:
        if "version" not in top:
            self.fail(root, "the buildspec needs 'version'", "add 'version: 0.2' as the first "
                      "line")
        node = top["version"]
        value = self.text(node, ("version",), "0.2")
        number = _as_float(value)
        if number == 0.1:
            self.fail(node, "version 0.1 runs every command in its own shell, so 'cd' and "
                      "variables do not carry to the next command; this suite supports 0.2 "
                      "only", "set 'version: 0.2' (commands of a phase then share one shell)")
        if number != 0.2:
            self.fail(node, f"version must be 0.2, not '{value}'", "set 'version: 0.2'")
        return "0.2"

    def run_as(self, node: Node, path: PathKey) -> str:
        value = self.text(node, path, "a Linux user name").strip()
        if not value or any(c.isspace() for c in value):
            self.fail(node, f"{_dotted(path)} must be one Linux user name",
                      "write a user name such as 'codebuild-user'")
        return value

    def env(self, node: Node) -> EnvSection:
        keys = self.mapping(node, ("env",), ENV_KEYS)
        variables = self.variables(keys, "variables")
        parameter_store = self.variables(keys, "parameter-store")
        secrets = self.secrets(keys)
        self.check_unique_names(variables, parameter_store, secrets)
        exported = self.exported(keys, parameter_store, secrets)
        return EnvSection(
            shell=self.choice(keys["shell"], ("env", "shell"), SHELLS) if "shell" in keys
            else None,
            variables=variables,
            parameter_store=parameter_store,
            secrets_manager=secrets,
            exported_variables=exported,
            git_credential_helper=self.flag(keys["git-credential-helper"],
                                            ("env", "git-credential-helper"))
            if "git-credential-helper" in keys else False,
        )

    def variables(self, env: dict[str, Node], section: str) -> dict[str, str]:
        """NAME: value pairs; names are shell variable names and never CODEBUILD_*."""
        if section not in env:
            return {}
        path: PathKey = ("env", section)
        values = {}
        for name, value in self.mapping(env[section], path, None).items():
            self.check_var_name(name, (*path, name))
            values[name] = self.text(value, (*path, name), "a value (quote an empty one: \"\")")
            if section == "parameter-store" and not values[name].strip():
                self.fail(value, f"{_dotted((*path, name))} must name a parameter",
                          "write the parameter name, for example /my-app/staging/LOG_LEVEL")
        return values

    def check_var_name(self, name: str, path: PathKey) -> None:
        line = self.lines.get(path)
        if not _VAR_NAME_RE.match(name):
            self.fail(line, f"'{name}' in {_dotted(path[:-1])} is not a valid variable name",
                      "use letters, digits and '_', not starting with a digit")
        if name.upper().startswith("CODEBUILD_"):
            self.fail(line, f"'{name}' in {_dotted(path[:-1])}: the CODEBUILD_ prefix is "
                      "reserved for CodeBuild's own variables", "rename the variable")

    def secrets(self, env: dict[str, Node]) -> dict[str, SecretRef]:
        if "secrets-manager" not in env:
            return {}
        path: PathKey = ("env", "secrets-manager")
        refs = {}
        for name, value in self.mapping(env["secrets-manager"], path, None).items():
            self.check_var_name(name, (*path, name))
            reference = self.text(value, (*path, name), "a secret reference")
            refs[name] = self.secret_ref(reference, value, (*path, name))
        return refs

    def secret_ref(self, reference: str, node: Node, path: PathKey) -> SecretRef:
        """Split ``secret-id:json-key:version-stage:version-id``; a secret ARN has 7 parts."""
        parts = reference.strip().split(":")
        id_parts = 7 if reference.startswith("arn:") else 1
        secret_id = ":".join(parts[:id_parts])
        rest = parts[id_parts:]
        ok_arn = id_parts == 1 or (len(parts) >= 7 and parts[2] == "secretsmanager"
                                   and parts[5] == "secret" and parts[6])
        if not secret_id or not ok_arn or len(rest) > 3:
            self.fail(node, f"{_dotted(path)} must be secret-id[:json-key[:version-stage"
                      "[:version-id]]]", "write the secret name or ARN, optionally followed "
                      "by ':json-key', for example my-app/staging/API_KEY:value")
        rest += [""] * (3 - len(rest))
        if rest[1] and rest[2]:
            self.fail(node, f"{_dotted(path)} sets both a version stage and a version id",
                      "keep only one of the two")
        return SecretRef(secret_id, rest[0], rest[1], rest[2])

    def check_unique_names(self, *sections: Mapping[str, object]) -> None:
        """One name, one source: the runner should never have to pick between two values."""
        sources = ("variables", "parameter-store", "secrets-manager")
        seen: set[str] = set()
        for section_name, section in zip(sources, sections, strict=True):
            for name in section:
                if name in seen:
                    self.fail(self.lines.get(("env", section_name, name)),
                              f"'{name}' is defined in more than one of env.variables, "
                              "env.parameter-store and env.secrets-manager",
                              "keep one definition")
                seen.add(name)

    def exported(self, env: dict[str, Node], parameter_store: Mapping[str, str],
                 secrets: Mapping[str, SecretRef]) -> tuple[str, ...]:
        if "exported-variables" not in env:
            return ()
        path: PathKey = ("env", "exported-variables")
        names = self.strings(env["exported-variables"], path, "variable names")
        for index, name in enumerate(names):
            where = self.lines[(*path, index)]
            if not _VAR_NAME_RE.match(name):
                self.fail(where, f"exported variable '{name}' is not a valid name",
                          "use letters, digits and '_'")
            if name.startswith("AWS_"):
                self.fail(where, f"exported variable '{name}': variables starting with AWS_ "
                          "cannot be exported", "copy it into another variable and export that")
            if name in parameter_store or name in secrets:
                self.fail(where, f"exported variable '{name}' comes from Parameter Store or "
                          "Secrets Manager, and those are never exported",
                          "do not export secrets; pass a non-secret value instead")
        return names

    def proxy(self, node: Node) -> Proxy:
        keys = self.mapping(node, ("proxy",), PROXY_KEYS)
        return Proxy(
            upload_artifacts=self.flag(keys["upload-artifacts"], ("proxy", "upload-artifacts"))
            if "upload-artifacts" in keys else False,
            logs=self.flag(keys["logs"], ("proxy", "logs")) if "logs" in keys else False,
        )

    def batch(self, node: Node) -> dict[str, Any]:
        """Batch builds are accepted and kept as plain data; the suite does not run them."""
        self.mapping(node, ("batch",), None)
        return _plain(node, 0)

    def phases(self, node: Node) -> tuple[Phase, ...]:
        keys = self.mapping(node, ("phases",), PHASE_NAMES)
        if not keys:
            self.fail(node, "phases is empty", "add a 'build:' phase with 'commands:'")
        return tuple(self.phase(name, keys[name]) for name in PHASE_NAMES if name in keys)

    def phase(self, name: str, node: Node) -> Phase:
        path: PathKey = ("phases", name)
        if _is_null(node):
            self.fail(node, f"phase {name} is empty", f"add 'commands:' under {name}")
        keys = self.mapping(node, path, PHASE_KEYS)
        if "runtime-versions" in keys and name != "install":
            self.fail(self.lines[(*path, "runtime-versions")],
                      f"runtime-versions is only allowed in the install phase, not {name}",
                      "move runtime-versions under phases.install")
        if "commands" not in keys and not (name == "install" and "runtime-versions" in keys):
            self.fail(node, f"phase {name} needs 'commands'", f"add 'commands:' under {name} "
                      "with one '- command' line")
        return Phase(
            name=name,
            commands=self.strings(keys["commands"], (*path, "commands"), "commands")
            if "commands" in keys else (),
            finally_commands=self.strings(keys["finally"], (*path, "finally"), "commands")
            if "finally" in keys else (),
            run_as=self.run_as(keys["run-as"], (*path, "run-as")) if "run-as" in keys else None,
            on_failure=self.on_failure(keys["on-failure"], (*path, "on-failure"))
            if "on-failure" in keys else OnFailure(),
            runtime_versions=self.runtimes(keys["runtime-versions"], (*path, "runtime-versions"))
            if "runtime-versions" in keys else {},
        )

    def on_failure(self, node: Node, path: PathKey) -> OnFailure:
        value = self.text(node, path, "ABORT, CONTINUE or RETRY").strip()
        if value in ("ABORT", "CONTINUE"):
            return OnFailure(value)
        match = _ON_FAILURE_RE.match(value)
        if not match:
            self.fail(node, f"{_dotted(path)} must be ABORT, CONTINUE, RETRY, RETRY-count, "
                      f"RETRY-regex or RETRY-count-regex, not '{value}'",
                      _suggest(value, ("ABORT", "CONTINUE", "RETRY")))
        count = int(match["count"]) if match["count"] else DEFAULT_RETRY_COUNT
        if count > MAX_RETRY_COUNT:
            self.fail(node, f"{_dotted(path)} retries {count} times; the most is "
                      f"{MAX_RETRY_COUNT}", f"use RETRY-{MAX_RETRY_COUNT} or fewer")
        regex = match["regex"] or DEFAULT_RETRY_REGEX
        try:
            re.compile(regex)
        except re.error as err:
            self.fail(node, f"{_dotted(path)} has an invalid regular expression ({err})",
                      "fix the expression after RETRY-")
        return OnFailure("RETRY", count, regex)

    def runtimes(self, node: Node, path: PathKey) -> dict[str, str]:
        keys = self.mapping(node, path, None)
        if not keys:
            self.fail(node, "runtime-versions is empty", "add a runtime such as 'nodejs: 20'")
        return {name: self.text(value, (*path, name), "a version such as 20 or latest")
                for name, value in keys.items()}

    def reports(self, node: Node) -> dict[str, ReportGroup]:
        groups = self.mapping(node, ("reports",), None)
        if len(groups) > MAX_REPORT_GROUPS:
            self.fail(node, f"reports lists {len(groups)} report groups; a project may have "
                      f"at most {MAX_REPORT_GROUPS}", "merge or drop report groups")
        return {name: self.report(name, value) for name, value in groups.items()}

    def report(self, name: str, node: Node) -> ReportGroup:
        path: PathKey = ("reports", name)
        keys = self.mapping(node, path, REPORT_KEYS)
        files = self.strings(self.require(keys, "files", node, path), (*path, "files"),
                             "file patterns", required=True)
        return ReportGroup(
            name=name,
            files=files,
            base_directory=self.text(keys["base-directory"], (*path, "base-directory"))
            if "base-directory" in keys else None,
            discard_paths=self.flag(keys["discard-paths"], (*path, "discard-paths"))
            if "discard-paths" in keys else False,
            file_format=self.choice(keys["file-format"], (*path, "file-format"),
                                    REPORT_FILE_FORMATS) if "file-format" in keys
            else "JUNITXML",
        )

    def artifacts(self, node: Node, path: PathKey, primary: bool) -> Artifacts:
        allowed = ARTIFACT_KEYS if primary else ARTIFACT_KEYS[:-1]
        keys = self.mapping(node, path, allowed)
        files = self.strings(self.require(keys, "files", node, path), (*path, "files"),
                             "file patterns", required=True)

        def optional_text(key: str) -> str | None:
            return self.text(keys[key], (*path, key)) if key in keys else None

        def optional_flag(key: str) -> bool:
            return self.flag(keys[key], (*path, key)) if key in keys else False

        return Artifacts(
            files=files,
            name=optional_text("name"),
            discard_paths=optional_flag("discard-paths"),
            base_directory=optional_text("base-directory"),
            exclude_paths=self.strings(keys["exclude-paths"], (*path, "exclude-paths"),
                                       "path patterns", scalar_ok=True)
            if "exclude-paths" in keys else (),
            enable_symlinks=optional_flag("enable-symlinks"),
            s3_prefix=optional_text("s3-prefix"),
            secondary=self.secondary(keys["secondary-artifacts"], (*path, "secondary-artifacts"))
            if "secondary-artifacts" in keys else {},
        )

    def secondary(self, node: Node, path: PathKey) -> dict[str, Artifacts]:
        result = {}
        for ident, value in self.mapping(node, path, None).items():
            if not _IDENTIFIER_RE.match(ident):
                self.fail(self.lines[(*path, ident)], f"secondary artifact "
                          f"identifier '{ident}' is not valid", "use letters, digits and '_'")
            result[ident] = self.artifacts(value, (*path, ident), False)
        return result

    def cache(self, node: Node) -> Cache:
        path: PathKey = ("cache",)
        keys = self.mapping(node, path, CACHE_KEYS)
        paths = self.strings(self.require(keys, "paths", node, path), ("cache", "paths"),
                             "paths", required=True)
        fallback = self.strings(keys["fallback-keys"], ("cache", "fallback-keys"), "keys") \
            if "fallback-keys" in keys else ()
        if len(fallback) > MAX_FALLBACK_KEYS:
            self.fail(keys["fallback-keys"], f"cache.fallback-keys lists {len(fallback)} keys; "
                      f"at most {MAX_FALLBACK_KEYS} are used", "keep the five most specific")
        return Cache(
            paths=paths,
            key=self.text(keys["key"], ("cache", "key")) if "key" in keys else None,
            fallback_keys=fallback,
            action=self.choice(keys["action"], ("cache", "action"), CACHE_ACTIONS)
            if "action" in keys else None,
        )


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"use one of: {', '.join(choices)}"


def _as_float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _plain(node: Node, depth: int) -> Any:
    """Composed node to plain data (scalars as their text), bounded against alias loops."""
    if depth > 20:
        return None
    if isinstance(node, MappingNode):
        return {str(getattr(k, "value", "")): _plain(v, depth + 1) for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [_plain(item, depth + 1) for item in node.value]
    return None if _is_null(node) else node.value
