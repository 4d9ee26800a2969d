"""Whether the local AWS ran under the rehearsal clock, in the words every report prints.

Under ``runbook local start --time-factor N`` (``make run`` uses it) the local AWS runs its
waits N times faster: gate WaitTimes, approval expiry, build timeouts, schedule rates. A report
made from such a run must say so, or a one-minute gate that took two seconds misleads. The
durations it shows are still real elapsed times.
"""

from __future__ import annotations

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import client


def time_factor(session: AwsSession) -> float:
    """The local AWS's factor (1 on AWS, or when the server cannot be asked)."""
    if session.target != "local" or not session.endpoint_url:
        return 1.0
    try:
        return float(client.server_info(session.endpoint_url).get("time_factor") or 1)
    except (LocalAwsError, OSError, ValueError):
        return 1.0


def clock_note(session: AwsSession) -> str:
    """The line a report prints under a factor; empty in real time."""
    factor = time_factor(session)
    if factor == 1:
        return ""
    return (f"Rehearsal clock: the local AWS ran its waits {factor:g}x faster than real time "
            f"(--time-factor {factor:g}); durations shown are real elapsed times.")
