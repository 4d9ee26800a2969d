"""The `runbook` command, run as an operator would run it (subprocesses, real HTTP)."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runbook_lib.app import runner, suite

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
AWS = str(Path(sys.executable).with_name("aws"))


def _run(args, env=None, timeout=120):
    return subprocess.run(RUNBOOK + args, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_local_start_status_stop_and_the_aws_cli_reaches_it(tmp_path):
    state = ["--state-dir", str(tmp_path)]
    started = _run(["local", "start", *state])
    assert started.returncode == 0, started.stderr
    exported = dict(line[len("export "):].split("=", 1) for line in started.stdout.splitlines()
                    if line.startswith("export "))
    endpoint = exported["AWS_ENDPOINT_URL"]
    assert endpoint.startswith("http://127.0.0.1:")
    try:
        status = _run(["local", "status", *state])
        assert status.returncode == 0 and endpoint in status.stdout
        again = _run(["local", "start", *state])
        assert endpoint in again.stdout  # the running server is reused, not a second one
        ident = subprocess.run(
            [AWS, "sts", "get-caller-identity", "--query", "Account", "--output", "text"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **exported})
        assert ident.stdout.strip() == "123456789012", ident.stderr
    finally:
        stopped = _run(["local", "stop", *state])
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert _run(["local", "status", *state]).returncode == 3


def test_bad_parameter_fails_before_any_aws_call(tmp_path):
    result = _run(["run", "--only", "preflight", "-p", "app_name=Bad_Name", "--out",
                   str(tmp_path)], env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.returncode == 1
    assert "app_name='Bad_Name'" in result.stderr and "for example" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing ran


def test_unknown_notebook_name_lists_the_valid_ones():
    result = _run(["run", "--only", "nope"])
    assert result.returncode == 1
    assert "preflight" in result.stderr


def test_aws_target_without_credentials_refuses_to_start(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
           "AWS_CONFIG_FILE": str(tmp_path / "x"), "AWS_SHARED_CREDENTIALS_FILE":
           str(tmp_path / "x"), "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "",
           "AWS_REGION": "us-east-1"}
    result = _run(["run", "--target", "aws", "--only", "preflight", "-p",
                   "source_provider=s3", "-p", "source_repo=src-bucket/app.zip", "--out",
                   str(tmp_path)], env=env, timeout=300)
    assert result.returncode == 1
    assert "credentials" in (result.stderr + result.stdout)


def test_failed_notebook_is_kept_with_the_failing_cell_marked(tmp_path, monkeypatch, local_aws):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("app_name: str = 'sample-app'  # app")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('before')"),
                nbformat.v4.new_code_cell("raise RuntimeError('the build role is missing')"),
                nbformat.v4.new_code_cell("print('never')")]
    nbformat.write(nb, nb_dir / "01_broken.ipynb")
    monkeypatch.setattr(suite, "NOTEBOOK_DIR", nb_dir)
    monkeypatch.setattr(suite, "NOTEBOOKS", (suite.Notebook("broken", "01_broken.ipynb",
                                                            "Broken", "setup"),))
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    out = tmp_path / "out"
    result = runner.run_suite(["broken"], {"app_name": "x-app"}, "local", out)
    assert not result.ok
    assert "RuntimeError: the build role is missing" in result.notebooks[0].error
    executed = nbformat.read(out / "01_broken.ipynb", as_version=4)
    text = nbformat.writes(executed)
    assert "An Exception was encountered" in text  # papermill's marker above the failing cell
    assert (out / "index.html").read_text().count("FAILED") == 1


@pytest.mark.parametrize("pairs, expected", [
    (["apply=true"], {"apply": True}),
    (["build_timeout_minutes=20"], {"build_timeout_minutes": 20}),
    (["approval_emails=a@x.io,b@x.io"], {"approval_emails": "a@x.io,b@x.io"}),
    (["review_url=https://s.example.com/x=y"], {"review_url": "https://s.example.com/x=y"}),
])
def test_parameters_from_the_command_line_are_typed(pairs, expected):
    values = runner.load_parameters(None, pairs)
    assert {k: values[k] for k in expected} == expected
    assert values["target"] == "local"


def test_parameters_file_and_overrides(tmp_path):
    f = tmp_path / "params.yml"
    f.write_text("app_name: shop\nnoncurrent_version_days: 10\n")
    values = runner.load_parameters(f, ["noncurrent_version_days=12"])
    assert values["app_name"] == "shop" and values["noncurrent_version_days"] == 12


def test_a_run_refused_for_want_of_credentials_remembers_nothing(tmp_path):
    """`runbook run --target aws` with a profile that does not exist stops before any AWS call,
    and leaves runbook.toml as it was: a later `runbook status` or `make run` in this folder
    must not find a target it was never able to reach."""
    before = ('# kept\ntarget = "local"\n\n[parameters]\napp_name = "my-app"\n'
              'source_repo = "my-org/my-app"\n')
    (tmp_path / "runbook.toml").write_text(before)
    connection = ("arn:aws:codeconnections:us-east-1:111122223333:connection/"
                  "0a1b2c3d-1111-2222-3333-444455556666")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("RUNBOOK_PARAMS_FILE", "RUNBOOK_STATE_DIR")}
    env |= {"AWS_PROFILE": "no-such-profile", "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "HOME": str(tmp_path)}
    refused = subprocess.run(
        RUNBOOK + ["run", "--target", "aws", "-p", "apply=true", "-p",
                   f"connection_arn={connection}", "-p", "approval_emails=ops@example.com"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "no-such-profile" in refused.stderr and "remembered" not in refused.stderr
    assert (tmp_path / "runbook.toml").read_text() == before
    assert not (tmp_path / "out").exists()
