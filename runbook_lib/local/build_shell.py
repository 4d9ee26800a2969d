"""One persistent bash per build, so ``cd`` and variables carry across commands and phases.

Buildspec 0.2 runs every command of a build in the same shell. Each command is written to a
file and sourced (``. file < /dev/null``) by one long-lived bash: a syntax error stays inside
the sourced file, a command cannot swallow the next one from stdin, and ``export``/``cd``
persist. After each command the shell prints a sentinel line carrying the exit status; output
is streamed line by line as it is produced. The shell leads its own process group
(``start_new_session``), so a stop or a timeout kills everything the build started.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

SHELL_GONE = 255  # status reported when the shell ended without a status of its own


PID_FILE = "shell.pid"


def kill_orphan(script_dir: Path) -> bool:
    """End the process group of a build whose server died; True when one was running."""
    try:
        pgid = int((Path(script_dir) / PID_FILE).read_text())
        os.killpg(pgid, signal.SIGKILL)
    except (OSError, ValueError):
        return False
    return True


class BuildShell:
    """A bash process fed one command at a time; see the module docstring."""

    def __init__(self, cwd: Path, env: Mapping[str, str], script_dir: Path) -> None:
        self.cwd = Path(cwd)
        self.env = dict(env)
        self.script_dir = Path(script_dir)
        self.script_dir.mkdir(parents=True, exist_ok=True)
        self._sentinel = f"__runbook_status_{secrets.token_hex(8)}__"
        self._count = 0
        self._proc: subprocess.Popen | None = None
        self._killed = False  # after a stop or timeout, no command may start a new shell

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """(Re)start bash in the source folder with the build's environment."""
        self._proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=self.cwd, env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        # If the server dies, the next one reads this to end the orphaned process group.
        self.script_dir.mkdir(parents=True, exist_ok=True)
        (self.script_dir / PID_FILE).write_text(str(self._proc.pid))

    def run(self, command: str, on_line: Callable[[str], None]) -> int:
        """Run one command; every output line goes to ``on_line``; return its exit status.

        When the shell itself ends (``exit`` in the command, or the process group was killed),
        ``alive()`` is then False and the shell's own exit status is returned (negative: the
        signal); the caller decides whether to start a new shell.
        """
        if self._killed:
            return -signal.SIGKILL
        if not self.alive():
            self.start()
        self._count += 1
        script = self.script_dir / f"{self._count:04d}.sh"
        script.write_text(command + "\n")
        wrapper = (f". {_quote(str(script))} < /dev/null\n"
                   f"printf '%s %d\\n' {self._sentinel} $?\n")
        try:
            self._proc.stdin.write(wrapper.encode())
            self._proc.stdin.flush()
        except OSError:  # the shell died between commands
            return self._proc.wait()
        marker = self._sentinel.encode()
        for raw in iter(self._proc.stdout.readline, b""):
            if marker in raw:
                before, _, after = raw.partition(marker)
                if before:
                    on_line(_text(before))
                return int(after.strip() or SHELL_GONE)
            on_line(_text(raw))
        return self._proc.wait()

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
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
