"""Buildspec templates: each renders, parses and lints clean, and says what it promises."""

from __future__ import annotations

import pytest

from runbook_lib.buildspec import lint
from runbook_lib.buildspec.lint import ERROR, WARNING, lint_buildspec
from runbook_lib.buildspec.templates import (
    PROJECT_VARIABLES,
    TEMPLATE_DIR,
    describe_project_variables,
    project_variables,
    render_buildspec,
    template_path,
)
from runbook_lib.buildspec.validate import parse_buildspec
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.param_rules import BUILD_TEMPLATES
from runbook_lib.core.params import Params

SHA = "$CODEBUILD_RESOLVED_SOURCE_VERSION"


@pytest.fixture(scope="module")
def params() -> Params:
    return Params(app_name="demo-app")


@pytest.mark.parametrize("template", BUILD_TEMPLATES)
def test_template_parses_and_lints_without_errors_or_warnings(template, params):
    spec = parse_buildspec(render_buildspec(template, params), f"{template} template")
    findings = lint_buildspec(spec)
    assert [f for f in findings if f.severity in (ERROR, WARNING)] == []


@pytest.mark.parametrize("template", BUILD_TEMPLATES)
def test_template_fills_every_placeholder(template, params):
    text = render_buildspec(template, params)
    assert "{{" not in text and "}}" not in text
    assert "demo-app" in text


def test_every_template_has_a_file_and_project_variables():
    assert {p.name for p in TEMPLATE_DIR.glob("buildspec-*.yml")} == {
        f"buildspec-{t}.yml" for t in BUILD_TEMPLATES}
    assert set(PROJECT_VARIABLES) == set(BUILD_TEMPLATES)


def test_nodejs_template(params):
    spec = parse_buildspec(render_buildspec("nodejs", params))
    assert spec.phase("install").runtime_versions == {"nodejs": "20"}
    assert spec.phase("install").commands == ("npm ci",)
    assert spec.phase("pre_build").commands == ("npm test",)
    assert spec.phase("build").commands == ("npm run build",)
    assert spec.artifacts.base_directory == "dist"
    assert SHA in (spec.artifacts.name or "") + (spec.artifacts.s3_prefix or "")
    assert any("node_modules" in p for p in spec.cache.paths)


def test_docker_template(params):
    spec = parse_buildspec(render_buildspec("docker", params))
    commands = [c for p in spec.phases for c in p.commands]
    joined = "\n".join(commands)
    assert "aws ecr get-login-password" in joined
    assert f'echo "{SHA}" | cut -c 1-7' in joined
    assert 'docker push "$IMAGE_URI:$IMAGE_TAG"' in commands
    assert 'docker push "$IMAGE_URI:latest"' in commands
    assert "imagedefinitions.json" in commands[-1] and "$CONTAINER_NAME" in commands[-1]
    assert spec.artifacts.files == ("imagedefinitions.json",)
    for variable in project_variables("docker"):
        assert f"${variable}" in joined


def test_python_template(params):
    spec = parse_buildspec(render_buildspec("python", params))
    install = spec.phase("install").commands
    assert install[0] == "python3 -m venv .venv"  # never pip into the image's own Python
    assert all(c.startswith(("python3 -m venv", "if [ -f", ".venv/bin/python -m pip install"))
               for c in install), install
    assert any("requirements.txt" in c for c in install)
    assert any("pyproject.toml" in c and "setup.py" in c for c in install)
    assert spec.phase("pre_build").commands == (".venv/bin/python -m pytest -q || [ $? -eq 5 ]",)
    build = " ".join(spec.phase("build").commands)
    assert "pip wheel" in build and f"dist/{params.app_name}.tar.gz" in build
    assert spec.cache.paths == ("/root/.cache/pip/**/*",)
    assert spec.artifacts.base_directory == "dist"
    assert lint.check_text(render_buildspec("python", params)).findings == ()


def test_unknown_template_is_a_parameter_error(params):
    with pytest.raises(ParameterError) as info:
        render_buildspec("ruby", params)
    assert info.value.field == "build_template"
    with pytest.raises(ParameterError):
        template_path("../etc/passwd")


def test_placeholder_naming_no_field_fails(params, tmp_path, monkeypatch):
    from runbook_lib.buildspec import templates as buildspec_templates

    (tmp_path / "buildspec-nodejs.yml").write_text("name: {{ nope }}\n")
    monkeypatch.setattr(buildspec_templates, "TEMPLATE_DIR", tmp_path)
    with pytest.raises(ParameterError):
        render_buildspec("nodejs", params)


def test_shell_variables_survive_rendering(params):
    assert SHA in render_buildspec("nodejs", params)
    assert '"$IMAGE_URI:$IMAGE_TAG"' in render_buildspec("docker", params)


@pytest.mark.parametrize(("template", "expected"), [
    ("nodejs", "the build project must set: nothing extra"),
    ("docker", "the build project must set: ECR_REGISTRY, IMAGE_REPO_NAME, CONTAINER_NAME"),
])
def test_describe_project_variables(template, expected):
    assert describe_project_variables(template) == expected
