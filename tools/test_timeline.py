"""Read a test timeline (tests/timeline.py) back: where `make test`'s wall time and CPU went.

    RUNBOOK_TEST_TIMELINE=out/timeline make test
    python tools/test_timeline.py out/timeline [--top 40]

Prints each worker's busy and idle time and when it finished (the tail: workers idle while one
still runs), then the tests that cost the most CPU and wall time, and the CPU per test file.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def read(folder: Path) -> list[dict]:
    lines = []
    for path in sorted(folder.glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def report(lines: list[dict], top: int) -> list[str]:
    if not lines:
        return ["no timeline lines"]
    begin = min(line["start"] for line in lines)
    end = max(line["end"] for line in lines)
    out = [f"span {end - begin:.0f} s, {len(lines)} tests, "
           f"CPU counted {sum(line['cpu'] for line in lines):.0f} s"]
    by_worker: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_worker[line["worker"]].append(line)
    for worker, own in sorted(by_worker.items()):
        busy = sum(line["end"] - line["start"] for line in own)
        last = max(line["end"] for line in own) - begin
        cpu = sum(line["cpu"] for line in own)
        out.append(f"  {worker}: busy {busy:.0f} s, CPU {cpu:.0f} s, done at {last:.0f} s, "
                   f"{len(own)} tests")
    out.append(f"\ntop {top} by CPU (s, wall s, test):")
    for line in sorted(lines, key=lambda x: -x["cpu"])[:top]:
        out.append(f"  {line['cpu']:7.1f} {line['end'] - line['start']:7.1f}  {line['nodeid']}")
    out.append(f"\ntop {top} by wall (s, CPU s, test):")
    for line in sorted(lines, key=lambda x: x["start"] - x["end"])[:top]:
        out.append(f"  {line['end'] - line['start']:7.1f} {line['cpu']:7.1f}  {line['nodeid']}")
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for line in lines:
        entry = files[line["nodeid"].split("::", 1)[0]]
        entry[0] += line["cpu"]
        entry[1] += line["end"] - line["start"]
        entry[2] += 1
    out.append(f"\ntop {top} files by CPU (CPU s, wall s, tests, file):")
    for name, (cpu, wall, count) in sorted(files.items(), key=lambda kv: -kv[1][0])[:top]:
        out.append(f"  {cpu:7.1f} {wall:7.1f} {count:5d}  {name}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print("\n".join(report(read(args.folder), args.top)))


if __name__ == "__main__":
    main()
