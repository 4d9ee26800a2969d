"""The rehearsal clock: the local AWS's waits, run faster than real time by a stated factor.

A rehearsal (``make run``, a demo, a test) wants a pipeline's whole life, with its blocked and
rolled-back releases, in a minute; AWS's own waits are minutes to days. With a time factor N
(``runbook local start --time-factor N``, or ``RUNBOOK_LOCAL_TIME_FACTOR=N`` in the server's
environment; 1, real time, by default), every wait the local AWS itself keeps is divided by N:

- a gate's ``WaitTime`` and a rule's minutes (``codepipeline/rules``), deployment windows;
- a manual approval's seven-day expiry (``codepipeline/approvals``);
- a build's timeout (``codebuild/runner``);
- schedules' rates (``scheduler/``): ``rate(1 minute)`` fires every 60/N seconds. ``at()`` and
  ``cron()`` name moments of the wall clock, and keep them.

What the operator is shown stays honest: durations in reports and logs are real elapsed times,
and every report made under a factor says so. The more specific knobs tests use
(``RUNBOOK_LOCAL_RULE_MINUTE_SECONDS``, ``RUNBOOK_LOCAL_APPROVAL_TIMEOUT_SECONDS``,
``RUNBOOK_LOCAL_TIMEOUT_SCALE``) still win where they are set.
"""

from __future__ import annotations

import os

from runbook_lib.core.errors import LocalAwsError

FACTOR_ENV = "RUNBOOK_LOCAL_TIME_FACTOR"
MAX_FACTOR = 3600.0  # an hour a second: beyond that, one poll of a waiter spans hours


class ClockError(LocalAwsError, ValueError):
    """The time factor is not a number between 1 and ``MAX_FACTOR``."""


def parse_factor(value: str | float | None, field: str = FACTOR_ENV) -> float:
    """A valid factor from text (empty: 1); the error names the field, the value and the rule."""
    if value is None or value == "":
        return 1.0
    try:
        factor = float(value)
    except (TypeError, ValueError):
        factor = float("nan")
    if not 1.0 <= factor <= MAX_FACTOR:  # also refuses NaN
        raise ClockError(f"{field}={value!r} is not a time factor: it must be a number from 1 "
                         f"(real time) to {MAX_FACTOR:g}. Fix: pass e.g. 30, which runs a "
                         "one-minute gate in two seconds, or leave it out for real time.")
    return factor


def time_factor() -> float:
    """The factor this process runs under (read at each call, so a test can change it)."""
    return parse_factor(os.environ.get(FACTOR_ENV))


def scaled(seconds: float) -> float:
    """How long a wait of ``seconds`` lasts here: ``seconds / factor``."""
    return seconds / time_factor()
