"""`runbook fleet` refuses bad options before any AWS call, naming the option and the fix."""

from __future__ import annotations

import pytest

from runbook_lib.app import cli
from runbook_lib.core import session as session_module


@pytest.fixture(autouse=True)
def no_aws(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("an AWS session was opened for a bad option")

    monkeypatch.setattr(session_module.AwsSession, "__init__", refuse)


@pytest.mark.parametrize(("args", "named"), [
    (["--days", "0", "--out", "f.html"], "--days='0'"),
    (["--out", "fleet.pdf"], "--out='fleet.pdf'"),
    (["--out", "f.html", "--production-stage", "x' OR 1=1"], "--production-stage="),
    (["--out", "f.html", "--app-name", "Bad_Name"], "app_name="),
])
def test_bad_option_is_refused_with_its_fix(capsys, args, named):
    assert cli.main(["fleet", *args]) == 1
    err = capsys.readouterr().err
    assert named in err and "Fix:" in err


def test_an_unknown_engine_is_refused_naming_the_engines(capsys):
    assert cli.main(["fleet", "--out", "f.html", "--engine", "spark"]) == 1
    err = capsys.readouterr().err
    assert "--engine='spark'" in err and "duckdb, athena" in err and "Fix:" in err
