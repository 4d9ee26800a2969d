"""When a due schedule fires: at once, or somewhere in its flexible window, drawn once."""

from datetime import UTC, datetime, timedelta

from runbook_lib.local.scheduler.service import _fire_at

DUE = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)


def test_without_a_window_it_fires_when_due():
    assert _fire_at({}, DUE, 0) == DUE


def test_a_flexible_window_fires_within_it_and_keeps_its_draw():
    record: dict = {}
    moment = _fire_at(record, DUE, 15)
    assert DUE <= moment <= DUE + timedelta(minutes=15)
    record["fire_at"] = moment.isoformat()
    assert _fire_at(record, DUE, 15) == moment  # the next tick does not draw again
    assert _fire_at(record, DUE + timedelta(hours=1), 0) == DUE + timedelta(hours=1)
