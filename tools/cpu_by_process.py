"""CPU of every process a command started, by kind: what the test timeline cannot count.

    sudo python tools/cpu_by_process.py [--top 30] [--show KIND] -- make test

The test timeline (tests/timeline.py) counts a test's own process and the children it waited
for; local AWS servers started in a session of their own, the builds they run (npm, node,
bwrap), JupyterLab and Chromium are not its children. Linux process accounting is: the kernel
writes a record (CPU, command name, pid) for every process that exits, whoever its parent. This
tool switches accounting on for the command (root only: acct(2)), reads each new process's
command line every quarter second to name it (a process shorter than that keeps only its
16-character command name), then prints CPU, process count and mean per kind; ``--show KIND``
lists that kind's most expensive processes. Accounting is machine-wide: run nothing else
meanwhile, and nothing else that uses it (one accounting file at a time).
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# struct acct_v3 (linux/acct.h): flag, version, tty, exitcode, uid, gid, pid, ppid, btime,
# etime (float), then comp_t utime, stime, mem, io, rw, minflt, majflt, swaps; comm[16].
RECORD = struct.Struct("<BBHIIIII I f HHHHHHHH 16s")
ACCT_VERSION = 3
TICKS_PER_SECOND = 100  # AHZ

# (pattern in the command line, kind): first match wins.
KINDS = [
    (r"runbook_lib\.app\.kernel_forks", "kernel (forked)"),
    (r"kernel_shim\.py", "kernel shim"),
    (r"ipykernel", "kernel (own process)"),
    (r"cli local serve", "local AWS server"),
    (r"-m pytest", "pytest (main)"),
    (r"exec\(eval\(sys\.stdin", "pytest worker"),
    (r"cli lab|jupyter.?lab", "JupyterLab"),
    (r"chrom", "Chromium"),
    (r"bin/aws ", "AWS CLI"),
    (r"runbook_lib\.app\.cli|bin/runbook ", "runbook command"),
    (r"\bnpm\b", "npm"),
    (r"\bnode\b", "node"),
    (r"\bgit\b", "git"),
    (r"\bbwrap\b", "bwrap (build sandbox)"),
    (r"\bpip\b", "pip"),
]


@dataclass(frozen=True)
class Record:
    pid: int
    ppid: int
    comm: str
    cpu: float  # user + system seconds


def decode_comp(value: int) -> int:
    """comp_t: a 13-bit mantissa and a 3-bit base-8 exponent."""
    return (value & 0x1FFF) << (3 * (value >> 13))


def read_records(data: bytes) -> list[Record]:
    records = []
    for offset in range(0, len(data) - RECORD.size + 1, RECORD.size):
        fields = RECORD.unpack_from(data, offset)
        if fields[1] != ACCT_VERSION:
            raise ValueError(f"accounting record version {fields[1]} at byte {offset}; "
                             f"this tool reads version {ACCT_VERSION} (Linux's acct_v3)")
        cpu = (decode_comp(fields[10]) + decode_comp(fields[11])) / TICKS_PER_SECOND
        comm = fields[-1].split(b"\0", 1)[0].decode(errors="replace")
        records.append(Record(fields[6], fields[7], comm, cpu))
    return records


def kind_of(command_line: str, comm: str) -> str:
    for pattern, kind in KINDS:
        if re.search(pattern, command_line):
            return kind
    return f"other: {comm or '?'}"


def summarise(records: list[Record], command_lines: dict[int, str], top: int,
              show: str | None = None) -> list[str]:
    cpu: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    shown: list[tuple[float, str]] = []
    for record in records:
        line = command_lines.get(record.pid, "")
        kind = kind_of(line, record.comm)
        cpu[kind] += record.cpu
        count[kind] += 1
        if kind == show:
            shown.append((record.cpu, line or record.comm))
    total = sum(cpu.values())
    out = [f"{total:.0f} s of CPU in {len(records)} processes",
           "   CPU s  share  processes  mean s  kind"]
    for kind, seconds in cpu.most_common(top):
        share = seconds / total * 100 if total else 0.0
        out.append(f"{seconds:8.1f} {share:5.1f}% {count[kind]:9d} "
                   f"{seconds / count[kind]:7.2f}  {kind}")
    if show:
        out.append(f"\n{show}: most expensive processes")
        out += [f"{seconds:8.2f}  {line[:160]}"
                for seconds, line in sorted(shown, reverse=True)[:top]]
    return out


class CommandLines(threading.Thread):
    """pid -> command line of every process seen, read from /proc every ``every`` seconds."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.seen: dict[int, str] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.read_once()
            self.done.wait(self.every)

    def read_once(self) -> None:
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in self.seen:
                try:
                    raw = Path(f"/proc/{name}/cmdline").read_bytes()
                except OSError:
                    continue
                if raw:
                    self.seen[int(name)] = raw.replace(b"\0", b" ").decode(errors="replace")


def _acct(path: str | None) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.acct(path.encode() if path else None) != 0:
        err = ctypes.get_errno()
        raise SystemExit(f"cpu_by_process: acct({path!r}) failed: {os.strerror(err)}. Process "
                         "accounting needs root (CAP_SYS_PACCT); run the tool with sudo.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--show", help="list the processes of this kind")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("name the command to measure after --")
    with tempfile.TemporaryDirectory(prefix="cpu-by-process-") as folder:
        path = os.path.join(folder, "pacct")
        Path(path).touch(mode=0o600)
        lines = CommandLines()
        lines.start()
        _acct(path)
        started = time.monotonic()
        try:
            code = subprocess.call(command)
        finally:
            _acct(None)
            lines.done.set()
            lines.join()
        wall = time.monotonic() - started
        records = read_records(Path(path).read_bytes())
    print(f"\n{' '.join(command)}: exit {code}, {wall:.0f} s wall")
    print("\n".join(summarise(records, lines.seen, args.top, args.show)))
    return code


if __name__ == "__main__":
    sys.exit(main())
