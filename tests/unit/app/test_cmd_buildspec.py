"""`runbook buildspec check`: exit status and `file:line: message` lines for a pre-commit hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.app.cli import main

CASES = Path(__file__).parents[2] / "fixtures" / "buildspecs" / "cases"
GOOD = "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def test_valid_file_exits_zero_and_prints_no_finding(files, capsys):
    assert main(["buildspec", "check", files("buildspec.yml", GOOD)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "valid; 0 errors" in err


def test_invalid_file_exits_one_with_file_and_line(capsys):
    path = str(CASES / "en-dash-list-marker.yml")
    assert main(["buildspec", "check", path]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"{path}:8: error: ")


def test_warnings_fail_only_with_strict(capsys):
    path = str(CASES / "silent-cases-warn.yml")
    assert main(["buildspec", "check", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1] for line in lines] == ["6", "9", "11", "16"]
    assert all(": warning: " in line for line in lines)
    assert main(["buildspec", "check", "--strict", path]) == 1


def test_every_file_is_checked_and_one_bad_file_fails_the_run(files, capsys):
    good = files("a.yml", GOOD)
    bad = files("b.yml", "version: 0.3\nphases:\n  build:\n    commands: [x]\n")
    assert main(["buildspec", "check", "--quiet", good, bad]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{bad}:1: error: version must be 0.2")
    assert err == ""


def test_secret_values_never_printed(files, capsys):
    secret = "AKIAABCDEFGHIJKLMNOP"
    path = files("s.yml", GOOD.replace("phases:", f"env:\n  variables:\n    AWS_KEY: {secret}\n"
                                       "phases:"))
    assert main(["buildspec", "check", path]) == 1
    out, err = capsys.readouterr()
    assert "plaintext-secret" in out and secret not in out + err
