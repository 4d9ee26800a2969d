"""Validate a buildspec the way CodeBuild reads it, section by section.

Every rule here comes from AWS's own sources; the comment ``# ref: ...`` names the section of
the buildspec reference (docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html,
``#build-spec.<key>`` anchors) or the AWS example it follows, and docs/buildspec.md lists
them all. What CodeBuild refuses is refused with the file and line; where the reference is
silent the buildspec is accepted with a warning (see :class:`~.model.SpecWarning`).
"""

from __future__ import annotations

import re
from pathlib import Path

from yaml.nodes import Node

from runbook_lib.buildspec import batch as batch_section
from runbook_lib.buildspec.env import EnvReader
from runbook_lib.buildspec.model import (
    ARTIFACT_KEYS,
    CACHE_ACTIONS,
    CACHE_KEYS,
    ENV_KEYS,
    KNOWN_EXTENSION_KEYS,
    MAX_FALLBACK_KEYS,
    MAX_REPORT_GROUPS,
    PROXY_KEYS,
    REPORT_FILE_FORMATS,
    REPORT_KEYS,
    SHELLS,
    TOP_LEVEL_KEYS,
    Artifacts,
    Buildspec,
    Cache,
    EnvSection,
    PathKey,
    Proxy,
    ReportGroup,
)
from runbook_lib.buildspec.phases import PhaseReader
from runbook_lib.buildspec.yaml_lines import compose_document
from runbook_lib.core.errors import BuildspecError

# ref: #build-spec-ref-versions: 0.1 named the env section environment_variables/plaintext.
V01_ENV_KEY, V01_PLAINTEXT_KEY = "environment_variables", "plaintext"
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_]+$")


def parse_buildspec(text: str, source: str = "buildspec.yml") -> Buildspec:
    """Parse and validate buildspec YAML; raise :class:`BuildspecError` naming line and rule."""
    root = compose_document(text, source)
    return _Validator(source, text).buildspec(root)


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


class _Validator(PhaseReader, EnvReader):
    """Top-level sections; phases and env variables come from the two readers it mixes."""

    def buildspec(self, root: Node) -> Buildspec:
        top = self.mapping(root, (), (*TOP_LEVEL_KEYS, *KNOWN_EXTENSION_KEYS, V01_ENV_KEY))
        version = self.version = self.read_version(top, root)
        batch = batch_section.read_batch(self, top["batch"]) if "batch" in top else None
        if "phases" not in top and batch is None:
            # ref: #build-spec.phases "Required sequence"; a batch buildspec may leave phases
            # to its tasks' own buildspecs (batch-build-buildspec.md examples).
            self.missing(top, "phases", root, (), "the buildspec needs 'phases'",
                         "add 'phases:' with at least a 'build:' phase and its 'commands:'")
        return Buildspec(
            source=self.source,
            version=version,
            phases=self.phases(top["phases"]) if "phases" in top else (),
            env=self.environment(top, version),
            run_as=self.run_as(top["run-as"], ("run-as",)) if "run-as" in top else None,
            proxy=self.proxy(top["proxy"]) if "proxy" in top else None,
            batch=batch,
            reports=self.reports(top["reports"]) if "reports" in top else {},
            artifacts=self.artifacts(top["artifacts"], ("artifacts",), True)
            if "artifacts" in top else None,
            cache=self.cache(top["cache"]) if "cache" in top else None,
            warnings=tuple(self.warnings),
            lines=dict(self.lines),
        )

    def read_version(self, top: dict[str, Node], root: Node) -> str:
        # ref: #build-spec.version "Required mapping"; 0.1 "is still supported".
        if "version" not in top:
            self.missing(top, "version", root, (), "the buildspec needs 'version'",
                         "add 'version: 0.2' as the first line")
        node = top["version"]
        value = self.text(node, ("version",), "0.2 or 0.1")
        number = _as_float(value)
        if number not in (0.1, 0.2):
            self.fail(node, f"version must be 0.2 (or the older 0.1), not '{value}'",
                      "set 'version: 0.2'")
        if number == 0.1:
            self.warn(node, "version-0.1", "version 0.1 runs every command in its own shell: "
                      "'cd' and variables do not carry to the next command",
                      "set 'version: 0.2' (the commands of a build then share one shell)")
        return "0.1" if number == 0.1 else "0.2"

    def environment(self, top: dict[str, Node], version: str) -> EnvSection:
        """``env`` (0.2) or ``environment_variables`` (0.1, with ``plaintext``).

        Public 0.2 buildspecs that CodeBuild runs still use the 0.1 names (the Hugo site
        tutorials, for one), so they are read in 0.2 too, with a warning to rename them."""
        if V01_ENV_KEY in top:
            line = self.lines[(V01_ENV_KEY,)]
            if "env" in top:
                self.warn(line, "renamed-in-0.2", f"both 'env' and '{V01_ENV_KEY}': only "
                          "'env' is read", "move its variables under env.variables")
            else:
                if version != "0.1":
                    self.warn(line, "renamed-in-0.2", f"'{V01_ENV_KEY}' and 'plaintext' are "
                              "the version 0.1 names; in 0.2 they are 'env' and 'variables'",
                              "rename them to env: and variables:")
                return self.v01_environment(top[V01_ENV_KEY])
        return self.env(top["env"]) if "env" in top else EnvSection()

    def v01_environment(self, node: Node) -> EnvSection:
        keys = self.mapping(node, (V01_ENV_KEY,), (V01_PLAINTEXT_KEY,))
        if V01_PLAINTEXT_KEY not in keys:
            return EnvSection()
        path: PathKey = (V01_ENV_KEY, V01_PLAINTEXT_KEY)
        values = {}
        for name, value in self.mapping(keys[V01_PLAINTEXT_KEY], path).items():
            self.check_var_name(name, (*path, name))
            values[name] = self.text(value, (*path, name), "a value (quote an empty one: \"\")")
        return EnvSection(variables=values)

    def env(self, node: Node) -> EnvSection:
        # ref: #build-spec.env and its sub-anchors.
        keys = self.mapping(node, ("env",), ENV_KEYS)
        variables = self.variables(keys, "variables")
        parameter_store = self.variables(keys, "parameter-store")
        secrets = self.secrets(keys)
        self.check_unique_names(variables, parameter_store, secrets)
        exported = self.exported(keys, parameter_store, secrets)
        return EnvSection(
            shell=self.choice(keys["shell"], ("env", "shell"), SHELLS) if "shell" in keys
            else None,  # ref: #build-spec.shell lists bash, /bin/sh, powershell.exe, cmd.exe
            variables=variables,
            parameter_store=parameter_store,
            secrets_manager=secrets,
            exported_variables=exported,
            git_credential_helper=self.flag(keys["git-credential-helper"],
                                            ("env", "git-credential-helper"))
            if "git-credential-helper" in keys else False,
        )

    def proxy(self, node: Node) -> Proxy:
        keys = self.mapping(node, ("proxy",), PROXY_KEYS)  # ref: #build-spec.proxy
        return Proxy(
            upload_artifacts=self.flag(keys["upload-artifacts"], ("proxy", "upload-artifacts"))
            if "upload-artifacts" in keys else False,
            logs=self.flag(keys["logs"], ("proxy", "logs")) if "logs" in keys else False,
        )

    def reports(self, node: Node) -> dict[str, ReportGroup]:
        # ref: #build-spec.reports.report-name-or-arn "A project can have a maximum of five".
        groups = self.mapping(node, ("reports",))
        if len(groups) > MAX_REPORT_GROUPS:
            self.fail(node, f"reports lists {len(groups)} report groups; a project may have "
                      f"at most {MAX_REPORT_GROUPS}", "merge or drop report groups")
        return {name: self.report(name, value) for name, value in groups.items()}

    def report(self, name: str, node: Node) -> ReportGroup:
        path: PathKey = ("reports", name)
        keys = self.mapping(node, path, REPORT_KEYS)
        # ref: #build-spec.reports.files "Required sequence".
        files = self.strings(self.require(keys, "files", node, path), (*path, "files"),
                             "file patterns", required=True)
        return ReportGroup(
            name=name,
            files=files,
            base_directory=self.text(keys["base-directory"], (*path, "base-directory"))
            if "base-directory" in keys else None,
            discard_paths=self.flag(keys["discard-paths"], (*path, "discard-paths"))
            if "discard-paths" in keys else False,
            # ref: #build-spec.reports.file-format "This value is not case sensitive".
            file_format=self.choice(keys["file-format"], (*path, "file-format"),
                                    REPORT_FILE_FORMATS, any_case=True)
            if "file-format" in keys else "JUNITXML",
        )

    def artifacts(self, node: Node, path: PathKey, primary: bool) -> Artifacts:
        # ref: #build-spec.artifacts; secondary artifacts have "the same syntax".
        known = ARTIFACT_KEYS if primary else ARTIFACT_KEYS[:-1]
        # ref: version table: "the type property for artifacts" is 0.1 only (deprecated).
        keys = self.mapping(node, path, known + (("type",) if self.version == "0.1" else ()))
        # ref: #build-spec.artifacts.files "Required sequence"; one string as in the ECS
        # tutorial (codepipeline ecs-cd-pipeline.md: "files: imagedefinitions.json").
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
                                       "path patterns") if "exclude-paths" in keys else (),
            enable_symlinks=optional_flag("enable-symlinks"),
            s3_prefix=optional_text("s3-prefix"),
            secondary=self.secondary(keys["secondary-artifacts"], (*path, "secondary-artifacts"))
            if "secondary-artifacts" in keys else {},
        )

    def secondary(self, node: Node, path: PathKey) -> dict[str, Artifacts]:
        result = {}
        for ident, value in self.mapping(node, path).items():
            if not _IDENTIFIER_RE.match(ident):
                self.fail(self.lines[(*path, ident)], f"secondary artifact identifier "
                          f"'{ident}' is not valid", "use letters, digits and '_'")
            result[ident] = self.artifacts(value, (*path, ident), False)
        return result

    def cache(self, node: Node) -> Cache:
        path: PathKey = ("cache",)
        keys = self.mapping(node, path, CACHE_KEYS)
        # ref: #build-spec.cache.paths "Required sequence".
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


def _as_float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


__all__ = ["load_buildspec", "parse_buildspec"]
