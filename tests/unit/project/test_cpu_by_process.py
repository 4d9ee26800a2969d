"""tools/cpu_by_process.py reads Linux's accounting records and names each process's kind."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[3] / "tools" / "cpu_by_process.py"
spec = importlib.util.spec_from_file_location("cpu_by_process", TOOL)
cpu_by_process = importlib.util.module_from_spec(spec)
sys.modules["cpu_by_process"] = cpu_by_process  # its dataclass looks its module up
spec.loader.exec_module(cpu_by_process)


def _record(pid: int, ppid: int, comm: bytes, utime: int, stime: int, version: int = 3) -> bytes:
    return cpu_by_process.RECORD.pack(0, version, 0, 0, 0, 0, pid, ppid, 0, 0.0, utime, stime,
                                      0, 0, 0, 0, 0, 0, comm)


def test_comp_t_carries_a_base_eight_exponent():
    assert cpu_by_process.decode_comp(150) == 150
    assert cpu_by_process.decode_comp((1 << 13) | 100) == 800  # 100 * 8**1


def test_records_give_pid_name_and_cpu_seconds():
    data = _record(10, 1, b"python", 250, 50) + _record(11, 10, b"npm-cli", (2 << 13) | 3, 0)
    assert cpu_by_process.read_records(data) == [
        cpu_by_process.Record(10, 1, "python", 3.0),
        cpu_by_process.Record(11, 10, "npm-cli", 1.92)]  # 3 * 64 ticks


def test_another_record_version_is_refused_with_its_place():
    with pytest.raises(ValueError, match="version 2 at byte 64"):
        cpu_by_process.read_records(_record(1, 0, b"a", 0, 0) + _record(2, 0, b"b", 0, 0, 2))


def test_kinds_come_from_the_command_line_else_the_command_name():
    lines = {10: "/x/.venv/bin/python -m runbook_lib.app.cli local serve --port 0",
             11: "/x/.venv/bin/python /x/.venv/bin/aws s3api list-buckets",
             12: "node /usr/bin/npm ci"}
    records = [cpu_by_process.Record(10, 1, "python", 4.0),
               cpu_by_process.Record(11, 1, "aws", 0.5),
               cpu_by_process.Record(12, 1, "npm ci", 1.0),
               cpu_by_process.Record(13, 1, "sh", 0.5)]
    out = cpu_by_process.summarise(records, lines, top=10, show="AWS CLI")
    assert out[0] == "6 s of CPU in 4 processes"
    assert out[2].split()[-3:] == ["local", "AWS", "server"]
    kinds = [" ".join(line.split()[4:]) for line in out[2:6]]
    assert kinds == ["local AWS server", "npm", "AWS CLI", "other: sh"]
    assert out[-1].split(None, 1) == ["0.50", lines[11]]
