"""The background loop of the local AWS's watchers: call one function every few seconds.

Several extensions watch something nobody tells them about (the heads of registered git
repositories for CodeBuild webhooks and for pipeline source triggers, the due schedules): they
look again every ``RUNBOOK_LOCAL_POLL_SECONDS`` (1) or their own tick. One loop serves them
all, so each stops the same way (at once, on ``close``) and survives the same way: a failing
round is logged with what was being watched and the next round runs, because one bad
repository or schedule must not silence the others.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

POLL_ENV = "RUNBOOK_LOCAL_POLL_SECONDS"


def poll_interval(env: str = POLL_ENV, default: float = 1.0) -> float:
    """Seconds between two rounds, from ``env`` (unset or empty: ``default``)."""
    return float(os.environ.get(env) or default)


class Poller:
    """Calls ``poll_once`` every ``interval`` seconds on a daemon thread until ``close``.

    Parameters
    ----------
    name
        The thread's name, and what the log line of a failed round says was being watched.
    poll_once
        One round (what it returns is dropped); whatever it raises is logged on ``log``
        and the loop goes on.
    """

    def __init__(self, name: str, poll_once: Callable[[], Any], interval: float,
                 log: logging.Logger) -> None:
        self.name = name
        self.interval = interval
        self._poll_once = poll_once
        self._log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll_once()
            except Exception:  # keep polling: one bad round is logged, not fatal
                self._log.exception("%s: poll failed", self.name)
            self._stop.wait(self.interval)

    @property
    def stopping(self) -> threading.Event:
        """Set by ``close``: work the rounds started (retries, waits) ends early on it."""
        return self._stop

    @property
    def alive(self) -> bool:
        """Whether the loop's thread still runs (``close`` ends it)."""
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float = 10) -> None:
        """Stop, and wait up to ``timeout`` seconds for a running round to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
