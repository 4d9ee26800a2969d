"""The local AWS's JSON store: a transaction saves what changed, and only when it succeeds."""

from __future__ import annotations

import json
import threading

import pytest

from runbook_lib.local.server.store import JsonStore, StoreWriteError


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


def test_a_failed_write_answers_service_unavailable_and_memory_follows_the_disk(tmp_path):
    path = tmp_path / "doc.json"
    store = JsonStore(path, {})
    with store.transaction() as data:
        data["a"] = 1
        data["kept"] = {"n": 1}
    held = store.data["kept"]  # a reference held elsewhere (a running build's record)
    (tmp_path / "a-file").write_text("")
    store.path = tmp_path / "a-file" / "doc.json"  # cannot be written, even by root
    with pytest.raises(StoreWriteError) as caught, store.transaction() as data:
        data["b"] = 2
        data["kept"]["n"] = 2
    assert caught.value.code == "ServiceUnavailable" and caught.value.status == 503
    assert store.data == {"a": 1, "kept": {"n": 1}} and held is store.data["kept"]
    store.path = path
    with store.transaction() as data:  # the retry succeeds
        data["b"] = 2
    assert JsonStore(path, {}).data == {"a": 1, "b": 2, "kept": {"n": 1}}


def test_a_transaction_holds_the_lock(tmp_path):
    store = JsonStore(tmp_path / "doc.json", {"n": 0})
    seen = []
    with store.transaction():
        other = threading.Thread(target=lambda: seen.append(store.lock.acquire(timeout=0.2)))
        other.start()
        other.join()
    assert seen == [False]
