"""Test counts from a build log: what the test runner itself printed as its summary.

node --test prints TAP counts (``# pass 5``, ``# fail 0``), pytest a closing line
(``== 1 failed, 4 passed in 0.1s ==``); the last summary in the log wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAP_COUNT = re.compile(r"^# (tests|pass|fail|skipped|todo|cancelled) (\d+)\s*$")
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?)\b")


@dataclass
class TestSummary:
    """Counts from the test runner's own summary lines (node --test TAP, pytest)."""

    __test__ = False  # not a pytest test class

    total: int | None = None
    passed: int | None = None
    failed: int | None = None
    skipped: int | None = None

    @property
    def found(self) -> bool:
        return self.passed is not None or self.failed is not None

    def render(self) -> str:
        if not self.found:
            return "no test summary in the log"
        text = f"{self.passed or 0} passed, {self.failed or 0} failed"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text + (f" (of {self.total})" if self.total is not None else "")


def test_summary(lines: list[str]) -> TestSummary:
    """The last test summary in a build log: TAP ``# pass 5`` / ``# fail 0`` or pytest's
    ``== 1 failed, 4 passed in 0.1s ==``."""
    result = TestSummary()
    for line in lines:
        tap = _TAP_COUNT.match(line.strip())
        if tap:
            key, value = tap.group(1), int(tap.group(2))
            if key == "tests":
                result = TestSummary(total=value)
            elif key in ("pass", "fail"):
                setattr(result, {"pass": "passed", "fail": "failed"}[key], value)
            elif key == "skipped":
                result.skipped = value
            continue
        if line.startswith("=") and " in " in line and _PYTEST_COUNT.search(line):
            counts = {kind.rstrip("s"): int(n) for n, kind in _PYTEST_COUNT.findall(line)}
            failed = counts.get("failed", 0) + counts.get("error", 0)
            passed, skipped = counts.get("passed", 0), counts.get("skipped", 0)
            result = TestSummary(passed + failed + skipped, passed, failed, skipped)
    return result
