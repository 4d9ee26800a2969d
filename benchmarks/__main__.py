"""`make bench`: every performance figure of the project, side by side in one run.

    python -m benchmarks [--runs N] [--only PART ...] [--quick]

PARTS: engine sandbox overview triage analytics report fleet growth lifecycle.

Prints medians and ratios, each with its target and whether it is met; these machines are
noisy, so every comparison is measured in the same run, interleaved, and reported as a median.
The machine's load is printed at the start and the end. Figures and method:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks import (
    analytics_bench,
    engine_bench,
    fleet_bench,
    growth_bench,
    lifecycle_bench,
    overview_bench,
    report_bench,
    sandbox_bench,
    triage_bench,
)
from benchmarks.report import Result, machine

PARTS = ("engine", "sandbox", "overview", "triage", "analytics", "report", "fleet", "growth",
         "lifecycle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="repetitions per measurement "
                        "(the 1,000,000-line and 100,000-execution figures use fewer)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS,
                        help="measure only these parts")
    parser.add_argument("--quick", action="store_true",
                        help="skip the largest sizes (1,000,000 lines, 100,000 executions)")
    args = parser.parse_args(argv)
    _print([machine("machine at start")])
    for part in PARTS:
        if part in args.only:
            _print(_measure(part, args))
    _print([machine("machine at end")])
    return 0


def _measure(part: str, args: argparse.Namespace) -> list[Result]:
    if part in ("engine", "overview", "sandbox"):
        bench = {"engine": engine_bench, "overview": overview_bench,
                 "sandbox": sandbox_bench}[part]
        with tempfile.TemporaryDirectory(prefix="runbook-bench-") as tmp:
            return bench.run_all(Path(tmp), runs=args.runs)
    if part == "triage":
        sizes = triage_bench.SIZES[:-1] if args.quick else triage_bench.SIZES
        return triage_bench.run_all(runs=max(1, args.runs // 2), sizes=sizes)
    if part == "analytics":
        sizes = analytics_bench.SIZES[:-1] if args.quick else analytics_bench.SIZES
        return analytics_bench.run_all(runs=max(1, args.runs // 2), sizes=sizes)
    if part == "fleet":
        return fleet_bench.run_all()
    if part == "growth":
        with tempfile.TemporaryDirectory(prefix="runbook-bench-") as tmp:
            return growth_bench.run_all(Path(tmp), runs=max(1, args.runs // 2),
                                        megabytes=10 if args.quick else growth_bench.MEGABYTES)
    if part == "lifecycle":
        return lifecycle_bench.run_all(runs=1 if args.quick else min(args.runs, 3))
    return report_bench.run_all()


def _print(results: list[Result]) -> None:
    for r in results:
        print(f"{r.name:<52}  {r.text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
