"""The rehearsal clock: a validated factor that divides the local AWS's waits."""

import pytest

from runbook_lib.local import clock


@pytest.mark.parametrize("value", ["0", "0.5", "abc", "nan", "100000"])
def test_bad_factor_names_the_variable_and_the_rule(value):
    with pytest.raises(clock.ClockError, match="RUNBOOK_LOCAL_TIME_FACTOR.*from 1"):
        clock.parse_factor(value)


def test_factor_divides_waits(monkeypatch):
    monkeypatch.delenv(clock.FACTOR_ENV, raising=False)
    assert clock.scaled(60) == 60
    monkeypatch.setenv(clock.FACTOR_ENV, "30")
    assert clock.scaled(60) == 2
