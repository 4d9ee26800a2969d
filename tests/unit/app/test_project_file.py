"""runbook.toml: what is remembered, how it reads back, and what is refused."""

from __future__ import annotations

import stat
import tomllib

import nbformat
import pytest

from runbook_lib.app import lab, parameters, project_file
from runbook_lib.core.errors import InputError


def test_remembers_the_apps_parameters_not_one_off_choices(tmp_path):
    found = project_file.read(tmp_path / "runbook.toml")
    given = parameters.load(None, ["apply=true", "app_name=my-app", "source_repo=me/my-app",
                                   "summary=Staging checked: ok", "approval_emails=a@x.io",
                                   "plaintext_variables=TZ=UTC,MODE=fast"], "local")
    assert project_file.remember(found, given, "local", "/tmp/state")
    again = project_file.read(tmp_path / "runbook.toml")
    assert again.parameters == {"app_name": "my-app", "source_repo": "me/my-app",
                                "approval_emails": "a@x.io",
                                "plaintext_variables": "TZ=UTC,MODE=fast"}
    assert (again.target, again.state_dir) == ("local", "/tmp/state")
    # Read back through the same checks, they mean what they meant.
    assert parameters.load(None, [], "local", again.parameters)["app_name"] == "my-app"
    assert not project_file.remember(again, given, "local", "/tmp/state")  # nothing new


def test_nothing_given_writes_no_file(tmp_path):
    found = project_file.read(tmp_path / "runbook.toml")
    assert not project_file.remember(found, {"apply": True, "target": "local"}, "local", "/s")
    assert not (tmp_path / "runbook.toml").exists()


@pytest.mark.parametrize("value", ['quote " and \\ back', "tab\tand newline\n", "ünïcode"])
def test_text_survives_the_toml_round_trip(tmp_path, value):
    text = project_file.render({"review_url": value}, "local", "")
    assert tomllib.loads(text)["parameters"]["review_url"] == value


@pytest.mark.parametrize("text, says", [
    ("[parameters]\napply = true\n", "apply"),
    ("[parameters\n", "TOML"),
    ("parameters = 3\n", "tables"),
])
def test_a_broken_file_is_refused_with_the_fix(tmp_path, text, says):
    path = tmp_path / "runbook.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        project_file.read(path)
    assert says in str(err.value) and "Fix:" in str(err.value)


def test_off_turns_the_file_off(monkeypatch):
    monkeypatch.setenv(project_file.FILE_ENV, "off")
    assert project_file.location() is None
    assert not project_file.remember(project_file.read(), {"app_name": "x-app"}, "local", "")


def test_the_lab_copies_carry_the_remembered_parameters_and_are_private(tmp_path):
    workspace = tmp_path / "lab"
    lab.prepare_lab_workspace(workspace, {"app_name": "my-app", "source_repo": "me/my-app"})
    copy = workspace / "05_build_project.ipynb"
    assert stat.S_IMODE(workspace.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    cells = nbformat.read(copy, as_version=4).cells
    tags = [c.metadata.get("tags", []) for c in cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "injected-parameters" in tags[at + 1]
    assert 'app_name = "my-app"' in cells[at + 1].source
    lab.prepare_lab_workspace(workspace, None)  # the file gone: the injected cell goes too
    cells = nbformat.read(copy, as_version=4).cells
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in cells)
