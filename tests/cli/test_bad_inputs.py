"""Every bad input to `runbook` gets one clear paragraph and a non-zero exit, never a traceback.

Each case runs the real command in a subprocess, as an operator would, and checks the exit code,
that no traceback was printed, that the message names the field or the value, and that nothing
was written where the command would have written.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
SECRET = "hunter2-Zq8vK3mW9pL4xR7tB2nY5"
AWS_KEY_ID = "AKIAQWERTYUIOPASDFGH"


def _unwritable(tmp: Path) -> Path:
    """A folder this user cannot write into: permission bits, or /sys for root."""
    if os.geteuid() == 0:
        return Path("/sys/runbook-unwritable")
    folder = tmp / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def _files(tmp: Path) -> dict[str, Path]:
    a_file = tmp / "a-file"
    a_file.write_text("not a folder\n")
    binary = tmp / "binary.yml"
    binary.write_bytes(b"\x00\xff\xfe\x01\x89PNG")
    recursive = tmp / "recursive.yml"
    recursive.write_text("app_name: &a [*a]\n")
    secrets = tmp / "secrets.yml"
    secrets.write_text(f"config_parameters:\n  LOG_LEVEL: info\n  DB_PASSWORD: {SECRET}\n")
    return {"file": a_file, "binary": binary, "recursive": recursive, "secrets": secrets,
            "unwritable": _unwritable(tmp), "out": tmp / "out"}


# (case id, argv with {placeholders}, extra environment, words the message must hold)
CASES = [
    ("yaml-broken -p", ["run", "-p", "app_name=[x", "--out", "{out}"], {}, ["-p app_name",
                                                                             "YAML"]),
    ("binary -f", ["run", "-f", "{binary}", "--out", "{out}"], {}, ["{binary}", "UTF-8"]),
    ("recursive alias -f", ["run", "-f", "{recursive}", "--out", "{out}"], {},
     ["{recursive}", "alias"]),
    ("-f is a folder", ["run", "-f", "{tmp}", "--out", "{out}"], {}, ["--params-file",
                                                                     "folder"]),
    ("-f missing", ["run", "-f", "{tmp}/nope.yml", "--out", "{out}"], {}, ["nope.yml"]),
    ("apply=nope", ["run", "-p", "apply=nope", "--out", "{out}"], {}, ["apply", "nope"]),
    ("apply=on", ["teardown", "-p", "apply=on", "--out", "{out}"], {}, ["apply", "'on'"]),
    ("unknown name", ["run", "-p", "app_nmae=shop", "--out", "{out}"], {},
     ["app_nmae", "app_name"]),
    ("codecommit repo ..", ["run", "-p", "source_provider=codecommit", "-p", "source_repo=..",
                            "--out", "{out}"], {}, ["source_repo", "'..'"]),
    ("not KEY=VALUE", ["run", "-p", "app_name", "--out", "{out}"], {}, ["-p app_name",
                                                                       "KEY=VALUE"]),
    ("secret env-var name", ["run", "-p", f"RUNBOOK_SECRET_API_KEY={SECRET}", "--out",
                             "{out}"], {}, ["RUNBOOK_SECRET_API_KEY", "notebook 06"]),
    ("secret name", ["run", "-p", f"API_KEY={SECRET}", "--out", "{out}"], {},
     ["API_KEY", "RUNBOOK_SECRET_API_KEY"]),
    ("secret in config_parameters", ["run", "-p",
                                     f"config_parameters=LOG_LEVEL=info,DB_PASSWORD={SECRET}",
                                     "--out", "{out}"], {}, ["DB_PASSWORD", "secure_config"]),
    ("secret in plaintext_variables", ["run", "-p", f"plaintext_variables=KEY_ID={AWS_KEY_ID}",
                                       "--out", "{out}"], {}, ["plaintext_variables"]),
    ("secret in a -f file", ["run", "-f", "{secrets}", "--out", "{out}"], {},
     ["DB_PASSWORD", "RUNBOOK_SECRET_DB_PASSWORD"]),
    ("run --out is a file", ["run", "--out", "{file}"], {}, ["--out", "{file}", "not a folder"]),
    ("report --out is a folder", ["report", "--pipeline", "p", "--out", "{tmp}"], {},
     ["--out", "is a folder"]),
    ("report --out under a file", ["report", "--pipeline", "p", "--out", "{file}/h.html"], {},
     ["--out", "{file}"]),
    ("report --out unwritable", ["report", "--pipeline", "p", "--out", "{unwritable}/h.html"],
     {}, ["--out", "cannot be written"]),
    ("report without --pipeline", ["report", "--out", "{tmp}/h.html"], {}, ["--pipeline"]),
    ("report --schedule not an expression", ["report", "--schedule", "every day"], {},
     ["--schedule", "every day", "cron(0 6 * * ? *)"]),
    ("report --schedule cron of 5 fields", ["report", "--schedule", "cron(0 6 * * *)"], {},
     ["--schedule", "six"]),
    ("report --timezone unknown", ["report", "--schedule", "rate(1 day)", "--timezone",
                                   "Mars/Olympus"], {}, ["--timezone", "Mars/Olympus"]),
    ("report --notify without --publish", ["report", "--pipeline", "p", "--out", "{tmp}/h.html",
                                           "--notify", "arn:aws:sns:us-east-1:1:t"], {},
     ["--notify", "--publish"]),
    ("serve --time-factor not a number", ["local", "serve", "--time-factor", "fast",
                                          "--state-dir", "{tmp}/s"], {}, ["--time-factor"]),
    ("serve --state-dir is a file", ["local", "serve", "--port", "0", "--state-dir", "{file}"],
     {}, ["--state-dir", "{file}"]),
    ("start --state-dir is a file", ["local", "start", "--state-dir", "{file}"], {},
     ["--state-dir", "{file}"]),
    ("start --state-dir under a file", ["local", "start", "--state-dir", "{file}/x"], {},
     ["--state-dir", "{file}"]),
    ("start --state-dir unwritable", ["local", "start", "--state-dir", "{unwritable}"], {},
     ["--state-dir", "cannot be written"]),
    ("reset --state-dir is a file", ["local", "reset", "--state-dir", "{file}"], {},
     ["--state-dir", "{file}"]),
    ("repo add --state-dir is a file", ["local", "repo", "add", "acme/app", "{tmp}",
                                        "--state-dir", "{file}"], {}, ["--state-dir"]),
    ("RUNBOOK_STATE_DIR is a file", ["local", "start"], {"RUNBOOK_STATE_DIR": "{file}"},
     ["RUNBOOK_STATE_DIR", "{file}"]),
    ("RUNBOOK_STATE_DIR unwritable, run", ["run", "--out", "{out}"],
     {"RUNBOOK_STATE_DIR": "{unwritable}", "AWS_ENDPOINT_URL": ""},
     ["RUNBOOK_STATE_DIR", "cannot be written"]),
    ("lab --dir is a file", ["lab", "--dir", "{file}"], {}, ["--dir", "{file}"]),
    ("serve --port out of range", ["local", "serve", "--port", "99999", "--state-dir",
                                   "{tmp}/s"], {}, ["--port 99999"]),
]


@pytest.mark.parametrize("argv, env, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_paragraph_and_a_nonzero_exit(argv, env, expected, tmp_path):
    paths = {name: str(path) for name, path in _files(tmp_path).items()} | {"tmp": str(tmp_path)}
    state = tmp_path / "state"
    base_env = {**os.environ, "RUNBOOK_STATE_DIR": str(state),
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing may be reached
    run_env = base_env | {k: v.format(**paths) for k, v in env.items()}
    result = subprocess.run(RUNBOOK + [a.format(**paths) for a in argv], capture_output=True,
                            text=True, timeout=120, env=run_env)
    printed = result.stdout + result.stderr
    assert result.returncode not in (0, None), printed
    assert "Traceback" not in printed
    assert result.stderr.startswith("runbook: "), printed
    assert "Fix:" in result.stderr
    for word in expected:
        assert word.format(**paths) in result.stderr
    for secret in (SECRET, AWS_KEY_ID):
        assert secret not in printed
    out = Path(paths["out"])
    assert not out.exists() or not any(out.iterdir())  # nothing ran, nothing was written
    assert not state.exists() or not any(state.iterdir())
