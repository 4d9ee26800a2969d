"""The local AWS's JSON store: a transaction saves what changed, and only when it succeeds."""

from __future__ import annotations

import json
import threading

import pytest

from runbook_lib.local.server.store import JsonStore


def test_a_transaction_saves_the_document_when_it_ends(tmp_path):
    store = JsonStore(tmp_path / "doc.json", {})
    with store.transaction() as data:
        data["pipeline"] = {"version": 1}
    assert json.loads((tmp_path / "doc.json").read_text()) == {"pipeline": {"version": 1}}
    assert JsonStore(tmp_path / "doc.json", {}).data == {"pipeline": {"version": 1}}


def test_a_transaction_that_raises_saves_nothing(tmp_path):
    store = JsonStore(tmp_path / "doc.json", {})
    with pytest.raises(KeyError), store.transaction() as data:
        data["half"] = "written"
        raise KeyError("refused")
    assert not (tmp_path / "doc.json").exists()


def test_a_transaction_holds_the_lock(tmp_path):
    store = JsonStore(tmp_path / "doc.json", {"n": 0})
    seen = []
    with store.transaction():
        other = threading.Thread(target=lambda: seen.append(store.lock.acquire(timeout=0.2)))
        other.start()
        other.join()
    assert seen == [False]
