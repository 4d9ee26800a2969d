"""The journal keeps every complete entry and cuts a torn tail; stores refuse, never empty."""

from __future__ import annotations

import json
import stat

import pytest

from runbook_lib.local.server.journal import JOURNAL_FILE, Journal
from runbook_lib.local.server.store import JsonStore, StateFileError

ENTRY = json.dumps({"method": "PUT", "path": "/b", "path_info": "/b", "query": "",
                    "headers": {}, "body": ""}) + "\n"

TORN = {
    "bytes after the last newline": ENTRY * 2 + '{"method": "PU',
    "a whole line of zeros": ENTRY * 2 + "\0\0\0\0\n",
    "half an entry then a newline": ENTRY * 2 + ENTRY[:20] + "\n",
}


@pytest.mark.parametrize("content", TORN.values(), ids=TORN.keys())
def test_a_torn_tail_is_cut_and_kept_aside_and_complete_entries_stay(tmp_path, content):
    (tmp_path / JOURNAL_FILE).write_text(content)
    journal = Journal(tmp_path)
    assert (tmp_path / JOURNAL_FILE).read_text() == ENTRY * 2
    assert "torn" in journal.recovery_note() and "kept 2" in journal.recovery_note()
    assert (tmp_path / (JOURNAL_FILE + ".torn")).read_bytes().startswith(
        content[len(ENTRY * 2):].encode())


def test_an_intact_journal_is_left_alone(tmp_path):
    (tmp_path / JOURNAL_FILE).write_text(ENTRY * 3)
    assert Journal(tmp_path).recovery_note() is None
    assert (tmp_path / JOURNAL_FILE).read_text() == ENTRY * 3


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
