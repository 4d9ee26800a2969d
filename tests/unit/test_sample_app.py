"""The sample Node.js app: its buildspec is the nodejs template, and it builds offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from runbook_lib.buildspec.templates import SAMPLE_APP_DIR, SAMPLE_BUILDSPEC, render_buildspec
from runbook_lib.core.params import Params

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
