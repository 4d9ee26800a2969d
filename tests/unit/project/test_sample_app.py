"""The sample Node.js app: its buildspec is the nodejs template, and it builds offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from runbook_lib.buildspec.templates import SAMPLE_APP_DIR, SAMPLE_BUILDSPEC, render_buildspec
from runbook_lib.core.params import Params
from runbook_lib.core.tags import ownership_tags
from runbook_lib.setup import deploy_actions

NEEDS_NODE = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")),
                                reason="node and npm are not installed")


def test_committed_buildspec_is_the_rendered_nodejs_template():
    assert SAMPLE_BUILDSPEC.read_text() == render_buildspec("nodejs", Params()), (
        "regenerate it: SAMPLE_BUILDSPEC.write_text(render_buildspec('nodejs', Params()))")


def test_package_has_no_dependencies_and_a_matching_lockfile():
    package = json.loads((SAMPLE_APP_DIR / "package.json").read_text())
    lock = json.loads((SAMPLE_APP_DIR / "package-lock.json").read_text())
    assert package["scripts"] == {"test": "node --test", "build": "node scripts/build.js"}
    for key in ("dependencies", "devDependencies", "optionalDependencies"):
        assert key not in package
    assert lock["lockfileVersion"] == 3
    assert (lock["name"], lock["version"]) == (package["name"], package["version"])
    assert list(lock["packages"]) == [""]


def test_no_build_output_is_committed():
    assert not (SAMPLE_APP_DIR / "node_modules").exists()
    assert not (SAMPLE_APP_DIR / "dist").exists()


@NEEDS_NODE
def test_npm_ci_test_and_build_work_offline(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(SAMPLE_APP_DIR, app)
    env = {**os.environ, "npm_config_cache": str(tmp_path / "npm-cache"),
           "npm_config_offline": "true", "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef"}

    def npm(*args: str) -> str:
        result = subprocess.run(["npm", *args], cwd=app, env=env, capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result.stdout + result.stderr

    npm("ci")
    assert "pass 5" in npm("test")
    npm("run", "build")
    page = (app / "dist" / "index.html").read_text()
    assert "Hello, world!" in page
    assert "v1.0.0 (0123456)" in page
    assert "greet" in (app / "dist" / "app.js").read_text()


@NEEDS_NODE
def test_a_failing_test_fails_npm_test(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(SAMPLE_APP_DIR, app)
    source = app / "src" / "greeting.js"
    source.write_text(source.read_text().replace("Hello, ", "Bye, "))
    result = subprocess.run(["npm", "test"], cwd=app, capture_output=True, text=True,
                            timeout=120, check=False,
                            env={**os.environ, "npm_config_cache": str(tmp_path / "c")})
    assert result.returncode != 0


@NEEDS_NODE
def test_the_build_writes_the_stack_template_and_its_tags_when_the_pipeline_asks(tmp_path):
    """deploy_provider=cloudformation: what the build action's variables ask for is what the
    Deploy actions read (TemplatePath and TemplateConfiguration in BuildOutput)."""
    app = tmp_path / "app"
    shutil.copytree(SAMPLE_APP_DIR, app)
    params = Params(deploy_provider="cloudformation")
    names = params.names()
    variables = {v["name"]: v["value"] for v in json.loads(
        deploy_actions.build_action(params, names)["configuration"]["EnvironmentVariables"])}
    run = subprocess.run(["node", "scripts/build.js"], cwd=app, capture_output=True, text=True,
                         timeout=60, env={**os.environ, **variables, "COMMIT_SHA": "abc"})
    assert run.returncode == 0, run.stderr
    deploy = deploy_actions.deploy_action(params, names, 0)["configuration"]
    for path in (deploy["TemplatePath"], deploy["TemplateConfiguration"]):
        artifact, _, name = path.partition("::")
        assert artifact == "BuildOutput" and (app / "dist" / name).is_file()
    template = (app / "dist" / "packaged.yaml").read_text()
    assert template == (SAMPLE_APP_DIR / "infra" / "template.yaml").read_text()
    assert set(json.loads(deploy["ParameterOverrides"])) == {"Environment", "Release"}
    configuration = json.loads((app / "dist" / "stack-configuration.json").read_text())
    assert configuration == {"Tags": ownership_tags("sample-app")}
    bad = subprocess.run(["node", "scripts/build.js"], cwd=app, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "STACK_TEMPLATE": "../escape.yaml"})
    assert bad.returncode != 0 and "STACK_TEMPLATE must be a file name" in bad.stderr
