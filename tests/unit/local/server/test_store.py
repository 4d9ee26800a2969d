"""State stores refuse an unreadable file, naming it and the way out, and never start empty
over it; saves keep the previous version and private modes."""

from __future__ import annotations

import json
import stat

import pytest

from runbook_lib.local.server.store import JsonStore, StateFileError


@pytest.mark.parametrize("damage", [b'{"us-east-1": {"pipe', b"", b"\0" * 64, b"[1, 2"])
def test_an_unreadable_store_is_refused_naming_the_file_and_the_way_out(tmp_path, damage):
    path = tmp_path / "codepipeline-pipelines.json"
    path.write_bytes(damage)
    with pytest.raises(StateFileError) as caught:
        JsonStore(path, {})
    assert str(path) in str(caught.value) and "runbook local reset" in str(caught.value)
    assert path.read_bytes() == damage


def test_a_missing_store_starts_empty_and_saves_keep_the_previous_version(tmp_path):
    path = tmp_path / "codebuild-projects.json"
    store = JsonStore(path, {})
    assert store.data == {}
    store.data["a"] = 1
    store.save()
    store.data["b"] = 2
    store.save()
    assert json.loads(path.read_text()) == {"a": 1, "b": 2}
    assert json.loads((tmp_path / (path.name + ".bak")).read_text()) == {"a": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_bytes(b"{")
    with pytest.raises(StateFileError) as caught:
        JsonStore(path, {})
    assert ".bak" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
