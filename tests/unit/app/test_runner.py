"""The run folder: each `runbook run` gets one of its own, even when several start together."""

from __future__ import annotations

import datetime as dt
import stat
import threading

from runbook_lib.app import runner


class _FrozenClock(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 7, 21, 0, 0)


def test_runs_started_in_the_same_second_get_folders_of_their_own(monkeypatch, tmp_path):
    monkeypatch.setattr(runner.dt, "datetime", _FrozenClock)
    made: list = []
    start = threading.Barrier(8)

    def one_run() -> None:
        start.wait()
        made.append(runner.new_run_dir(tmp_path / "out"))

    threads = [threading.Thread(target=one_run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = sorted(path.name for path in made)
    assert names == sorted(["20261207-210000"] + [f"20261207-210000-{n}" for n in range(2, 9)])
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o700 for path in made)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700


def test_a_folder_left_by_an_earlier_run_is_never_reused(monkeypatch, tmp_path):
    monkeypatch.setattr(runner.dt, "datetime", _FrozenClock)
    (tmp_path / "20261207-210000").mkdir()
    (tmp_path / "20261207-210000" / "00_overview.ipynb").write_text("{}")
    assert runner.new_run_dir(tmp_path).name == "20261207-210000-2"
