"""A build's paths: CodeBuild's shape, real containment when packing, what the sandbox shows."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from runbook_lib.buildspec.model import Artifacts
from runbook_lib.local.codebuild import sandbox
from runbook_lib.local.codebuild.build_paths import BuildPaths, work_folder
from runbook_lib.local.codebuild.cache import pack_cache
from runbook_lib.local.codebuild.outputs import (
    ArtifactError,
    collect_artifact_files,
    select_files,
    upload_artifact,
)


def test_a_build_folder_has_no_colon_and_the_source_looks_like_codebuilds(tmp_path):
    build_id = "my-app_1:0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
    work = work_folder(tmp_path, build_id)
    assert re.fullmatch(r"[A-Za-z0-9/_-]+", str(work.relative_to(tmp_path)))
    paths = BuildPaths.of(work, build_id, sandboxed=True)
    assert re.fullmatch(r"/codebuild/output/src\d+/src", paths.inside(paths.host_src))
    assert re.fullmatch(r"[A-Za-z0-9/_-]+", str(paths.host_src.relative_to(tmp_path)))
    assert paths.host_src.relative_to(work).as_posix().startswith("codebuild/output/src")


@pytest.fixture
def tree(tmp_path):
    """A source folder beside the state folder's key pair, with links pointing out."""
    (tmp_path / "credentials.json").write_text('{"secret_access_key": "KEY"}')
    src = tmp_path / "builds" / "b" / "src"
    (src / "dist").mkdir(parents=True)
    (src / "dist" / "app.js").write_text("app")
    (src / "dist" / "creds.json").symlink_to("../../../../credentials.json")
    (src / "dist" / "alias.js").symlink_to("app.js")
    (tmp_path / "src-evil").mkdir()
    (tmp_path / "src-evil" / "x").write_text("x")
    (src / "outside").symlink_to(tmp_path)
    return src


def test_artifact_files_never_follow_a_link_out_of_the_source(tree):
    files = collect_artifact_files(tree, Artifacts(files=("**/*",)))
    assert sorted(files) == ["dist/alias.js", "dist/app.js"]
    names = zipfile.ZipFile(io.BytesIO(_zip(files))).namelist()
    assert "dist/creds.json" not in names


def _zip(files):
    class S3:
        def put_object(self, **kwargs):
            self.body = kwargs["Body"]

    from runbook_lib.local.codebuild.outputs import ArtifactTarget

    s3 = S3()
    upload_artifact(s3, ArtifactTarget("b", "k"), files)
    return s3.body


@pytest.mark.parametrize("base", ["../src-evil", "../../../src-evil", "outside", "/tmp"])
def test_a_base_directory_outside_the_source_is_refused(tree, base):
    with pytest.raises(ArtifactError, match="outside the source"):
        collect_artifact_files(tree, Artifacts(files=("**/*",), base_directory=base))


def test_report_files_use_the_same_containment(tree):
    assert select_files(tree / "dist", ["*.json"], within=tree) == []
    assert select_files(tree / "outside", ["**/*"], within=tree) == []


def test_a_cache_path_with_dots_or_a_link_out_packs_nothing_from_outside(tree, tmp_path):
    home = tmp_path / "home"
    (home / ".npm").mkdir(parents=True)
    (home / ".npm" / "ok").write_text("ok")
    (home / ".npm" / "creds").symlink_to(tmp_path / "credentials.json")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "stolen").write_text("stolen")
    data = pack_cache(tree, ["/root/../../../" + str(tmp_path / "x").lstrip("/") + "/**/*",
                             "../src-evil/**/*", "/root/.npm/**/*", "dist/**/*"], home)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = sorted(tar.getnames())
    assert names == ["abs/root/.npm/ok", "src/dist/alias.js", "src/dist/app.js"]


def test_the_sandbox_path_binds_toolchains_never_the_home_state_or_aws(tmp_path):
    home = tmp_path / "home"
    for folder in (".pyenv/shims", ".aws/bin", ".cargo/bin", "bin"):
        (home / folder).mkdir(parents=True)
    venv = tmp_path / "proj" / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {home}/.pyenv/versions/3.11/bin\n")
    state = tmp_path / "state"
    (state / "bin").mkdir(parents=True)
    server_path = ":".join([str(venv / "bin"), str(home / ".pyenv/shims"), str(home / ".aws/bin"),
                            str(home / ".cargo/bin"), str(home / "bin"), str(state / "bin"),
                            "/usr/bin", "relative/bin"])
    tools = sandbox.toolchain(server_path, [state, home / ".aws"], home=home)
    assert set(tools.binds) == {venv, home / ".pyenv"}
    assert tools.path.split(":")[:3] == [str(venv / "bin"), str(home / ".pyenv/shims"),
                                         "/usr/bin"]
    assert str(state) not in tools.path and ".aws" not in tools.path


def test_without_bubblewrap_a_build_fails_unless_unsandboxed_is_allowed(monkeypatch):
    from runbook_lib.local.codebuild.failures import PhaseFailed

    monkeypatch.setitem(sandbox._state, "support", sandbox.Support(False, "no namespaces"))
    monkeypatch.setitem(sandbox._state, "allow_unsandboxed", False)
    with pytest.raises(PhaseFailed, match="--unsandboxed-builds") as err:
        sandbox.use_sandbox()
    assert "no namespaces" in err.value.message
    sandbox.allow_unsandboxed(True)
    assert sandbox.use_sandbox() is False


def test_the_probe_finds_bubblewrap_on_this_machine():
    if not Path("/proc/self/ns/user").exists():
        pytest.skip("no user namespaces here")
    assert sandbox.probe() == sandbox.Support(True), sandbox.probe().reason


def test_a_repository_that_commits_a_bin_link_builds(session, app_name, tmp_path):
    """Issue 16.7: `git archive` stores links as links; the source keeps them, inside."""
    import subprocess

    from helpers import BUILD_ENVIRONMENT, BUILD_ROLE, wait_for_build

    repo = tmp_path / "repo"
    (repo / "node_modules" / "tool" / "bin").mkdir(parents=True)
    (repo / "node_modules" / ".bin").mkdir()
    script = repo / "node_modules" / "tool" / "bin" / "tool.js"
    script.write_text("#!/bin/sh\necho linked-tool-ran\n")
    script.chmod(0o755)
    (repo / "node_modules" / ".bin" / "tool").symlink_to("../tool/bin/tool.js")
    (repo / "buildspec.yml").write_text(
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        "      - test -L node_modules/.bin/tool\n"
        "      - PATH=$CODEBUILD_SRC_DIR/node_modules/.bin:$PATH tool\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "links"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    data = subprocess.run([*git, "archive", "--format=zip", "HEAD"], check=True,
                          capture_output=True).stdout
    s3, cb = session.client("s3"), session.client("codebuild")
    s3.create_bucket(Bucket=app_name)
    s3.put_object(Bucket=app_name, Key="src.zip", Body=data)
    cb.create_project(name=app_name, source={"type": "S3", "location": f"{app_name}/src.zip"},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=dict(BUILD_ENVIRONMENT),
                      serviceRole=BUILD_ROLE)
    build = wait_for_build(cb, cb.start_build(projectName=app_name)["build"]["id"])
    download = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
    assert download["phaseStatus"] == "SUCCEEDED", download
    assert build["buildStatus"] == "SUCCEEDED"
