"""Buildspec templates (files in ``runbook_lib/templates/``) and the sample app's location.

Templates are plain buildspec YAML with ``{{ field }}`` placeholders filled from
:class:`~runbook_lib.core.params.Params`. That syntax is used, not ``$name``, because buildspecs are
full of shell variables (``$CODEBUILD_RESOLVED_SOURCE_VERSION``) that must survive rendering.
"""

from __future__ import annotations

import re
from pathlib import Path

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.param_rules import BUILD_TEMPLATES
from runbook_lib.core.params import Params

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
SAMPLE_APP_DIR = Path(__file__).resolve().parents[1] / "sample_app"
SAMPLE_BUILDSPEC = SAMPLE_APP_DIR / "buildspec.yml"
SAMPLE_BUILDSPEC_NAME = "runbook_lib/sample_app/buildspec.yml"  # shown in outputs

# Variables each template reads that the build project must set (the build-project step
# passes them as plaintext environment variables).
PROJECT_VARIABLES: dict[str, tuple[str, ...]] = {
    "nodejs": (),
    "docker": ("ECR_REGISTRY", "IMAGE_REPO_NAME", "CONTAINER_NAME"),
    "python": (),
}

_PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def template_path(template: str) -> Path:
    """The file of a named template; unknown names fail like a bad parameter."""
    if template not in BUILD_TEMPLATES:
        raise ParameterError("build_template", template,
                             f"must be one of {', '.join(BUILD_TEMPLATES)}", BUILD_TEMPLATES[0])
    return TEMPLATE_DIR / f"buildspec-{template}.yml"


def render_buildspec(template: str, params: Params) -> str:
    """The buildspec text of ``template`` for these parameters."""
    text = template_path(template).read_text(encoding="utf-8")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "extra" or not hasattr(params, name):
            raise ParameterError("build_template", template,
                                 f"its placeholder {{{{ {name} }}}} names no Params field",
                                 BUILD_TEMPLATES[0])
        return str(getattr(params, name))

    return _PLACEHOLDER_RE.sub(fill, text)


def project_variables(template: str) -> tuple[str, ...]:
    """Names of the environment variables the build project must set for ``template``."""
    template_path(template)
    return PROJECT_VARIABLES[template]


def describe_project_variables(template: str) -> str:
    """One line for the notebook: what the build project must set for ``template``."""
    names = project_variables(template)
    return f"the build project must set: {', '.join(names) if names else 'nothing extra'}"
