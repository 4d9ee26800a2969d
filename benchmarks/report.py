"""What every benchmark prints: a named figure, and whether it meets its target."""

from __future__ import annotations

import os
import platform
import tracemalloc
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    text: str


def verdict(met: bool, target: str) -> str:
    """``target < 2 s: met`` or ``... NOT MET``, so a reader sees at a glance."""
    return f"{target}: {'met' if met else 'NOT MET'}"


def machine(label: str) -> Result:
    """Cores, Python and load: these figures move with whatever else the machine is doing."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return Result(label, f"{os.cpu_count()} cores, Python {platform.python_version()}, "
                         f"load average {load}")


def peak_mb(action) -> float:
    """Peak Python memory (MB) while ``action`` runs, by tracemalloc."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
