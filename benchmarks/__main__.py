"""`make bench`: the local AWS's engine, measured side by side in one run.

    python -m benchmarks [--runs N]

Prints medians and ratios; these machines are noisy, so every comparison is measured in the
same run, interleaved, and reported as a median. Figures and method: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks import engine_bench, overview_bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="repetitions per measurement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="runbook-bench-") as tmp:
        results = engine_bench.run_all(Path(tmp), runs=args.runs)
        results += overview_bench.run_all(Path(tmp), runs=args.runs)
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{r.name:<{width}}  {r.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
