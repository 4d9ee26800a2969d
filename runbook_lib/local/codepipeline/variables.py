"""CodePipeline variables: ``#{Namespace.Variable}`` references in action configuration.

An action's configuration may name the output variables of an earlier action by its namespace
(``#{SourceVariables.CommitId}``), the pipeline's own variables (``#{variables.Env}``) and
``#{codepipeline.PipelineExecutionId}``. CodePipeline resolves them when the action starts and
fails the action when one cannot be resolved; so does the local engine.
"""

from __future__ import annotations

import re
from typing import Any

from runbook_lib.local.server.wire import AwsError

_REFERENCE_RE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}")


class UnresolvedVariable(Exception):
    """A configuration names a variable no earlier action (or the pipeline) produced."""


def resolve_text(text: str, scope: dict[str, dict[str, str]]) -> str:
    """Replace every ``#{ns.name}`` in ``text`` with its value in ``scope[ns][name]``."""

    def replace(match: re.Match) -> str:
        namespace, name = match.group(1), match.group(2)
        values = scope.get(namespace)
        if values is None or name not in values:
            raise UnresolvedVariable(f"#{{{namespace}.{name}}}")
        return str(values[name])

    return _REFERENCE_RE.sub(replace, text)


def resolve_configuration(configuration: dict[str, str],
                          scope: dict[str, dict[str, str]]) -> dict[str, str]:
    """The configuration with every reference resolved; raises :class:`UnresolvedVariable`
    naming the first reference that has no value."""
    return {key: resolve_text(str(value), scope) for key, value in configuration.items()}


def pipeline_variables(declared: list[dict[str, Any]],
                       overrides: list[dict[str, str]] | None) -> dict[str, str]:
    """Pipeline-level values: declared defaults, overridden by StartPipelineExecution's.

    Like CodePipeline, a value for an undeclared variable, or no value for a variable without
    a default, is a ``ValidationException``.
    """
    names = {v["name"] for v in declared}
    values = {v["name"]: v["defaultValue"] for v in declared if "defaultValue" in v}
    for item in overrides or []:
        if item.get("name") not in names:
            raise AwsError("ValidationException",
                           f"Variable {item.get('name')!r} is not declared in the pipeline")
        values[item["name"]] = item.get("value", "")
    missing = sorted(names - set(values))
    if missing:
        raise AwsError("ValidationException",
                       f"No value for pipeline variable(s) without default: {', '.join(missing)}")
    return values
