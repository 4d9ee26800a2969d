"""Environment variables of ``env`` (and 0.1's ``environment_variables``): names and sources.

Rules and their sources (buildspec reference, ``#build-spec.env.*`` anchors): names starting
with ``CODEBUILD_`` are "reserved for internal use"; a Secrets Manager reference is
``secret-id:json-key:version-stage:version-id`` with "If you use version-stage, don't specify
version-id"; Parameter Store and Secrets Manager values and names starting with ``AWS_``
"cannot be exported". A name defined in two of the three sources is refused: the reference
gives no order among them, so the runner could only guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from yaml.nodes import Node

from runbook_lib.buildspec.model import PathKey, SecretRef
from runbook_lib.buildspec.reader import NodeReader, dotted

_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvReader(NodeReader):
    """Reads variable names, values and secret references."""

    def variables(self, env: dict[str, Node], section: str) -> dict[str, str]:
        """NAME: value pairs; names are shell variable names and never CODEBUILD_*."""
        if section not in env:
            return {}
        path: PathKey = ("env", section)
        values = {}
        for name, value in self.mapping(env[section], path).items():
            self.check_var_name(name, (*path, name))
            values[name] = self.text(value, (*path, name), "a value (quote an empty one: \"\")")
            if section == "parameter-store" and not values[name].strip():
                self.fail(value, f"{dotted((*path, name))} must name a parameter",
                          "write the parameter name, for example /my-app/staging/LOG_LEVEL")
        return values

    def check_var_name(self, name: str, path: PathKey) -> None:
        line = self.lines.get(path)
        if not _VAR_NAME_RE.match(name):
            self.fail(line, f"'{name}' in {dotted(path[:-1])} is not a valid variable name",
                      "use letters, digits and '_', not starting with a digit")
        if name.upper().startswith("CODEBUILD_"):
            self.fail(line, f"'{name}' in {dotted(path[:-1])}: the CODEBUILD_ prefix is "
                      "reserved for CodeBuild's own variables", "rename the variable")

    def secrets(self, env: dict[str, Node]) -> dict[str, SecretRef]:
        if "secrets-manager" not in env:
            return {}
        path: PathKey = ("env", "secrets-manager")
        refs = {}
        for name, value in self.mapping(env["secrets-manager"], path).items():
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
            self.fail(node, f"{dotted(path)} must be secret-id[:json-key[:version-stage"
                      "[:version-id]]]", "write the secret name or ARN, optionally followed "
                      "by ':json-key', for example my-app/staging/API_KEY:value")
        rest += [""] * (3 - len(rest))
        if rest[1] and rest[2]:
            self.fail(node, f"{dotted(path)} sets both a version stage and a version id",
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

