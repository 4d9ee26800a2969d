"""One persistent shell per build, so ``cd`` and variables carry across commands and phases.

Buildspec 0.2 runs every command of a build in the same shell. A phase's commands (or its
``finally`` commands) are written as one script that one long-lived bash sources, so the shell
runs them back to back without waiting on Python: a round trip per command would cost more than
a short command itself. In the script each command is ``eval``'d from a quoted string with
stdin from /dev/null (a syntax error stays inside that command, no command can swallow input
meant for another, ``export`` and ``cd`` persist), and is followed by a marker line carrying its
index and exit status; the script returns at the first command that fails. Output and markers
share one pipe, so Python reads them in the order they happened and turns the markers into the
runner's per-command log lines while the shell goes on (reading in chunks, so a run of quick
commands wakes Python a few times, not once per command). The marker is printed from two halves,
so a ``set -x`` trace never contains it. The shell leads its own process group
(``start_new_session``), so a stop or a timeout kills everything the build started; in the
build sandbox the program is bwrap, whose PID namespace also ends ``setsid`` daemons.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SHELL_GONE = 255  # status reported when the shell ended without a status of its own
PID_FILE = "shell.pid"
_STATUS_VARIABLE = "__runbook_status"
_GATHER_SECONDS = 0.002


def kill_orphan(script_dir: Path) -> bool:
    """End the process group of a build whose server died; True when one was running."""
    try:
        pgid = int((Path(script_dir) / PID_FILE).read_text())
        os.killpg(pgid, signal.SIGKILL)
    except (OSError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class RunResult:
    """How a run of commands ended: the last command that ran, and its exit status."""

    index: int
    status: int


class BuildShell:
    """A bash process fed a run of commands at a time; see the module docstring."""

    def __init__(self, cwd: Path, env: Mapping[str, str], script_dir: Path,
                 program: Sequence[str] = ("bash", "--noprofile", "--norc"),
                 scripts_seen_as: str | None = None) -> None:
        self.cwd = Path(cwd)
        # How the shell names ``script_dir`` (another path inside a sandbox: see sandbox.py).
        self.scripts_seen_as = Path(scripts_seen_as or script_dir)
        self.program = list(program)  # bash, or /bin/sh (env.shell); the script is POSIX
        self.env = dict(env)
        self.script_dir = Path(script_dir)
        self.script_dir.mkdir(parents=True, exist_ok=True)
        halves = ("__runbook_", f"{secrets.token_hex(8)}__")
        self._marker = "".join(halves).encode()
        self._printed_marker = f"{halves[0]} {halves[1]}"  # printf '%s%s' joins them
        self._count = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._killed = False  # after a stop or timeout, no command may start a new shell

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """(Re)start bash in the source folder with the build's environment."""
        self._proc = subprocess.Popen(
            self.program, cwd=self.cwd, env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        # If the server dies, the next one reads this to end the orphaned process group.
        self.script_dir.mkdir(parents=True, exist_ok=True)
        (self.script_dir / PID_FILE).write_text(str(self._proc.pid))

    def fresh(self) -> None:
        """End the current shell (and what it started) and start a new one: version 0.1
        gives every command its own shell instance."""
        if self._killed:
            return
        if self.alive():
            proc, stdin, stdout = self._pipes()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            for stream in (stdin, stdout):
                stream.close()
        self.start()

    def run_commands(self, commands: Sequence[str], on_start: Callable[[int], None],
                     on_line: Callable[[str], None], prelude: str = "") -> RunResult:
        """Run ``commands`` in order up to the first that fails.

        ``on_start(i)`` is called when command ``i`` starts, before any of its output reaches
        ``on_line``. ``prelude`` is shell code run first, silently (not a buildspec command).
        When the shell itself ends (``exit`` in a command, or the process group was killed),
        ``alive()`` is then False and the command that was running gets the shell's own exit
        status (negative: the signal); the caller decides whether to go on in a new shell.
        """
        if self._killed:
            return RunResult(0, -signal.SIGKILL)
        if not self.alive():
            self.start()
        proc, stdin, _stdout = self._pipes()
        script = self._write_script(commands, prelude)
        seen_as = self.scripts_seen_as / script.name
        wrapper = (f". {_quote(str(seen_as))} < /dev/null\n"
                   f"printf '%s%s R %d\\n' {self._printed_marker} \"$?\"\n")
        try:
            stdin.write(wrapper.encode())
            stdin.flush()
        except OSError:  # the shell died between runs
            if commands:
                on_start(0)
            return RunResult(0, proc.wait())
        return self._read_run(len(commands), on_start, on_line)

    def run(self, command: str, on_line: Callable[[str], None]) -> int:
        """Run one command (no per-command callbacks); return its exit status."""
        return self.run_commands([command], lambda _index: None, on_line).status

    def read_variables(self, names: list[str]) -> dict[str, str]:
        """Current values of ``names`` in the shell (for exported variables)."""
        values: dict[str, str] = {}
        prefix = secrets.token_hex(4)
        lines: list[str] = []
        printers = "; ".join(
            f"printf '{prefix}%s=%s\\n' {n} \"$(printf '%s' \"${{{n}-}}\" | base64 -w0)\""
            for n in names)
        if not names or self.run(printers, lines.append) != 0:
            return values
        for line in lines:
            if line.startswith(prefix) and "=" in line:
                name, _, encoded = line[len(prefix):].partition("=")
                values[name] = base64.b64decode(encoded).decode("utf-8", "replace")
        return values

    def kill(self) -> None:
        """Kill the shell's whole process group (stop, timeout, shutdown)."""
        self._killed = True
        if self._proc is None:
            return
        try:  # the group outlives its leader while children (``sleep &``) still run
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """End the shell and its children, and release its pipes."""
        self.kill()
        if self._proc is not None:
            proc, stdin, stdout = self._pipes()
            proc.wait()
            for stream in (stdin, stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    # -- internals -------------------------------------------------------------------------

    def _pipes(self) -> tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]:
        """The shell's process and its stdin and stdout pipes: :meth:`start` made all three,
        and every caller comes after it (a call before is a bug in the runner)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("the build's shell is not started: call BuildShell.start() "
                               "before running commands in it")
        return proc, proc.stdin, proc.stdout

    def _write_script(self, commands: Sequence[str], prelude: str) -> Path:
        """The run as one script (kept in the build's folder, for a post-mortem)."""
        marker = self._printed_marker
        parts = [f"{{ {prelude}\n}} > /dev/null 2>&1\n" if prelude else ""]
        if commands:
            parts.append(f"printf '%s%s S\\n' {marker}\n")
        for index, command in enumerate(commands):
            parts.append(
                f"eval {_quote(command)} < /dev/null\n"
                f"{_STATUS_VARIABLE}=$?; printf '%s%s E {index} %d\\n' {marker} "
                f"\"${_STATUS_VARIABLE}\"; [ \"${_STATUS_VARIABLE}\" = 0 ] || "
                f"return \"${_STATUS_VARIABLE}\"\n")
        self._count += 1
        script = self.script_dir / f"{self._count:04d}.sh"
        script.write_text("".join(parts))
        return script

    def _read_run(self, count: int, on_start: Callable[[int], None],
                  on_line: Callable[[str], None]) -> RunResult:
        """Relay output until the run's closing marker (or the shell's end)."""
        started = -1
        last: RunResult | None = None
        for raw in self._lines():
            if self._marker not in raw:
                on_line(_text(raw))
                continue
            before, _, after = raw.partition(self._marker)
            if before:
                on_line(_text(before))
            kind, *fields = after.split()
            if kind == b"S":
                started = 0
                on_start(0)
            elif kind == b"E":
                last = RunResult(int(fields[0]), int(fields[1]))
                if last.status == 0 and last.index + 1 < count:
                    started = last.index + 1
                    on_start(started)
            elif kind == b"R":
                if last is not None and last.index == started:
                    return last
                # The running command ended the script itself (``return``): its status.
                return RunResult(max(started, 0), int(fields[0]) if fields else SHELL_GONE)
        if started < 0 and count:
            on_start(0)
        return RunResult(max(started, 0), self._pipes()[0].wait())

    def _lines(self) -> Iterator[bytes]:
        """Output lines as the shell writes them, read in chunks: after each read the reader
        lets output gather for a moment, so a run of quick commands costs a few wake-ups of
        this thread instead of one per command."""
        fd = self._pipes()[2].fileno()
        pending = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line + b"\n"
            time.sleep(_GATHER_SECONDS)
        if pending:
            yield pending


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
