"""Kernels forked from a process that has imported IPython and the library once.

A fresh kernel process spends about 0.7 s of CPU before the notebook's first cell: Python,
IPython and ipykernel, then the modules the notebook imports. ``runbook run`` starts sixteen.
A :class:`ForkServer` is a process of the run that imports all that once; each kernel is then
a ``fork()`` of it (0.15 s), set up as ``python -m ipykernel_launcher`` would be: the notebook's
folder, the run's environment, the arguments jupyter_client gave, its own standard streams.
jupyter_client starts :mod:`.kernel_shim` in the kernel's place (signals and exit status go
through it), so shutdown, interrupt and kill work as for any kernel.

The server imports only pure modules (this package's, boto3's, IPython's and ipykernel's
debugger, matplotlib's figure machinery): nothing that starts a thread at import. matplotlib
reads its backend from the environment when it is imported: the server imports it with the
backend a kernel of the run would choose (the run's ``MPLBACKEND``, else ipykernel's inline
default), never pyplot, and a kernel whose environment names another backend sets it before its
first cell. The server forks from one thread, and exits when the run's process ends (its
standard input closes).
"""

from __future__ import annotations

import array
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

SHIM = Path(__file__).with_name("kernel_shim.py")
# What every kernel imports before its first cell.
BASE_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                "ipykernel.debugger", "IPython.core.interactiveshell", "jupyter_client.session",
                "boto3", "botocore.client")
# What the notebooks' drawings import under pyplot (two thirds of its import), pyplot excepted:
# importing pyplot would settle the backend before the kernel's environment is known.
MATPLOTLIB_MODULES = ("matplotlib.figure", "matplotlib.backends.backend_agg",
                      "matplotlib.patches", "matplotlib.ticker")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # ipykernel's default
# The service models the notebooks' clients read, parsed once into the shared loader.
WARM_SERVICES = ("codepipeline", "s3", "sns", "events", "logs", "codebuild", "iam", "cloudwatch",
                 "ssm", "secretsmanager", "scheduler", "sts")
_PRELOADABLE = ("runbook_lib.", "boto3", "botocore")
_SOCKET_NAME = "forks.sock"
_FOLDER_PREFIX = "runbook-forks-"


class ForkServer:
    """``with ForkServer() as forks:`` a server for this process's kernels; ``forks.socket``
    is what :func:`shim_command` needs."""

    def __init__(self) -> None:
        self.folder = Path()
        self.socket = ""  # both set when the server starts
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> ForkServer:
        self.folder = Path(tempfile.mkdtemp(prefix=_FOLDER_PREFIX))
        self.socket = str(self.folder / _SOCKET_NAME)
        # A session of its own, as jupyter_client gives each kernel: Ctrl-C in the terminal
        # reaches the run, which shuts its kernels down, not the kernels themselves.
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, self.socket], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
            assert self._process.stdout is not None
            if self._process.stdout.readline().strip() != b"ready":
                raise RuntimeError("the kernel fork server did not start")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def preload(self, modules: list[str]) -> None:
        """Have the server import ``modules`` (those it may) before the next fork."""
        wanted = [m for m in modules if m.startswith(_PRELOADABLE)]
        if wanted and self._process is not None and self._process.stdin is not None:
            self._process.stdin.write((json.dumps(wanted) + "\n").encode())
            self._process.stdin.flush()

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()  # the server's signal to exit
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self.socket:
            Path(self.socket).unlink(missing_ok=True)
            try:
                self.folder.rmdir()
            except OSError:
                pass


def supported() -> bool:
    """fork() and file descriptors passed over Unix sockets: Linux and macOS, not Windows."""
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "SCM_RIGHTS")


def shim_command(socket_path: str, kernel_cmd: list[str]) -> list[str] | None:
    """The command that starts a forked kernel in place of ``kernel_cmd`` (``python -m
    ipykernel_launcher ARGS``); None for any other kernel command."""
    if len(kernel_cmd) < 3 or kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return None
    return [kernel_cmd[0], "-I", "-S", str(SHIM), socket_path, *kernel_cmd[3:]]


# --- the server process ---------------------------------------------------------------------

def serve(socket_path: str) -> None:
    """Import, then fork a kernel for each request until standard input closes."""
    warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(16)
    print("ready", flush=True)
    waiting: dict[int, socket.socket] = {}  # kernel pid -> its shim's connection
    pending = b""
    while True:
        readable, _, _ = select.select([listener.fileno(), 0], [], [], 0.2)
        if 0 in readable:  # modules to import, a JSON list per line; nothing more: exit
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                _import(json.loads(line))
        if listener.fileno() in readable:
            conn, _ = listener.accept()
            pid = _fork_kernel(conn, listener, waiting)
            if pid:
                waiting[pid] = conn
        _report_exits(waiting)
    listener.close()
    # The run's process may be gone without closing the server (killed): leave nothing in /tmp.
    Path(socket_path).unlink(missing_ok=True)
    folder = Path(socket_path).parent
    if folder.name.startswith(_FOLDER_PREFIX):
        try:
            folder.rmdir()
        except OSError:
            pass


def warm() -> None:
    """What every kernel of the run would import and parse before its first cell."""
    _import(BASE_MODULES)
    _warm_matplotlib()
    _warm_models()


def _warm_matplotlib() -> None:
    """matplotlib's figure machinery, imported under the backend a kernel of this run picks:
    the run's ``MPLBACKEND`` (this process has the run's environment), else ipykernel's."""
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    _import(MATPLOTLIB_MODULES)


def _match_matplotlib_backend() -> None:
    """In a kernel whose environment names another backend than the one the server imported
    matplotlib with: that backend, as matplotlib would have read it at import."""
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is None or "matplotlib.pyplot" in sys.modules:
        return
    wanted = os.environ.get("MPLBACKEND") or INLINE_BACKEND
    if dict.__getitem__(matplotlib.rcParams, "backend") != wanted:
        try:
            matplotlib.rcParams["backend"] = wanted
        except (ValueError, KeyError):  # a name matplotlib refuses: pyplot says so in the cell
            pass


def _import(modules: Any) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the kernel meets it again, with its own error
            pass


def _warm_models() -> None:
    """Parse the notebooks' service models into the loader every session of a kernel shares."""
    from runbook_lib.core.session import botocore_session

    core = botocore_session()
    for service in WARM_SERVICES:
        try:
            core.create_client(service, region_name="us-east-1", aws_access_key_id="warm",
                               aws_secret_access_key="warm")
        except Exception:  # an older botocore without the service: the kernel reads it
            pass


def _fork_kernel(conn: socket.socket, listener: socket.socket,
                 waiting: dict[int, socket.socket]) -> int:
    request, fds = _receive(conn)
    if request is None:
        conn.close()
        return 0
    pid = os.fork()
    if pid == 0:  # the kernel
        code = 1
        try:
            listener.close()
            for other in waiting.values():
                other.close()
            conn.close()
            code = _become_kernel(request, fds)
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    return pid


def _receive(conn: socket.socket) -> tuple[dict | None, list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(1 << 20, socket.CMSG_LEN(4 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    size = int.from_bytes(data[:8], "big") if len(data) >= 8 else -1
    body = data[8:]
    while 0 <= len(body) < size:
        more = conn.recv(size - len(body))
        if not more:
            break
        body += more
    if len(fds) != 4 or len(body) != size:
        for fd in fds:
            os.close(fd)
        return None, []
    return json.loads(body), list(fds)


def _become_kernel(request: dict, fds: list[int]) -> int:
    """In the forked child: what ``python -m ipykernel_launcher ARGS`` in the notebook's folder
    with the run's environment would have been; its exit status."""
    stdin, stdout, stderr, lifeline = fds
    for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
        os.dup2(fd, target)
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _match_matplotlib_backend()
    sys.path[0] = request["cwd"]  # as `python -m` sets it
    # ipykernel read JPY_PARENT_PID when the server imported it: the parent to watch (the
    # server, this process's parent) is given here, as a fresh kernel reads it from the
    # environment; without one it prints a Ctrl-C notice meant for a terminal.
    sys.argv = ["ipykernel_launcher", *request["args"],
                f"--IPKernelApp.parent_handle={os.getppid()}"]
    threading.Thread(target=_exit_with_shim, args=(lifeline,), daemon=True).start()
    from ipykernel import kernelapp

    code = 0
    try:
        kernelapp.launch_new_instance()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return code


def _exit_with_shim(lifeline: int) -> None:
    """The shim holds the pipe's other end: when it is gone, so is this kernel."""
    while os.read(lifeline, 1):
        pass
    os._exit(1)


def _report_exits(waiting: dict[int, socket.socket]) -> None:
    while waiting:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = waiting.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(status) & 0xFF}\n".encode())
            except OSError:
                pass
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
