"""The journal keeps every complete entry and cuts a torn tail, kept aside."""

from __future__ import annotations

import json

import pytest

from runbook_lib.local.server.journal import JOURNAL_FILE, Journal

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
