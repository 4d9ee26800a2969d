"""How the suite writes durations and moments: one form everywhere, so views agree.

A duration always carries its unit (``12.3 s``, ``4.2 min``, ``2.0 h``, ``3.5 d``) and a moment
is ISO 8601 in UTC with a ``Z``: readable in a table, sortable as text, and recognised by the
notebook sanitizer that masks timings before stored outputs are compared.
"""

from __future__ import annotations

from datetime import UTC, datetime

MISSING = "-"

# Below each bound the smaller unit reads better: 90 s rather than 1.5 min, 90 min rather than
# 1.5 h, 36 h rather than 1.5 d.
_UNITS = ((120, 1, "s"), (7200, 60, "min"), (172800, 3600, "h"))


def format_duration(seconds: float | None, missing: str = MISSING) -> str:
    """``seconds`` with a unit, one decimal; ``missing`` when unknown (not started, no end)."""
    if seconds is None:
        return missing
    for bound, size, unit in _UNITS:
        if seconds < bound:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:.1f} d"


def iso_time(moment: datetime | float | None, timespec: str = "seconds", missing: str = "") -> str:
    """``moment`` (a datetime, or seconds since the epoch) as ISO 8601 in UTC ending in ``Z``.

    ``timespec`` is :meth:`datetime.isoformat`'s: ``"seconds"`` for tables (always the same
    width), ``"milliseconds"`` where AWS writes milliseconds (event times), ``"auto"`` to keep
    every digit (exports). A naive datetime is taken as UTC. ``missing`` when unknown.
    """
    if moment is None:
        return missing
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
