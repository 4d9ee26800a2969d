"""Kernels forked from a warmed process behave as kernels jupyter_client started itself: the
notebook's folder and the run's environment, interrupts, shutdown with status 0, and no kernel
left behind when jupyter_client kills what it started or when the server is closed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyter_core.utils import run_sync

from runbook_lib.app import kernel_forks, kernels


@pytest.fixture
def forks():
    with kernel_forks.ForkServer() as server:
        yield server
    assert not Path(server.socket).exists() and not server.folder.exists()


def _start(forks, cwd: Path):
    km = kernels.kernel_manager_class()(kernel_name="python3")
    km.runbook_fork_socket = forks.socket
    run_sync(km.start_kernel)(cwd=str(cwd), stderr=subprocess.DEVNULL)
    client = km.client()
    client.start_channels()
    run_sync(client.wait_for_ready)(timeout=60)
    return km, client


def _run(client, code: str) -> tuple[str, dict]:
    """Run ``code``; (its stdout, the execute reply's content)."""
    out: list[str] = []

    def collect(msg):
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])

    reply = run_sync(client.execute_interactive)(code, output_hook=collect, timeout=60)
    return "".join(out), reply["content"]


def _wait_for_stdout(client, msg_id: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = run_sync(client.get_iopub_msg)(timeout=max(deadline - time.monotonic(), 0.1))
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                and text in msg["content"]["text"]):
            return
    raise AssertionError(f"{text!r} never came on stdout")


def _gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_forked_kernel_runs_in_the_notebook_folder_with_the_runs_environment(
        forks, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_FORK_PROBE", "set after the server started")
    km, client = _start(forks, tmp_path)
    try:
        shown, reply = _run(client, (
            "import os, sys\n"
            "print(os.getcwd(), os.environ.get('RUNBOOK_FORK_PROBE'), sys.path[0], sep='|')\n"
            "print('boto3' in sys.modules, os.getppid(), os.getpid(), sep='|')"))
        assert reply["status"] == "ok", reply
        first, second = shown.splitlines()
        assert first.split("|") == [str(tmp_path), "set after the server started", str(tmp_path)]
        preloaded, parent, kernel = second.split("|")
        shim = km.provisioner.process.pid
        assert preloaded == "True"  # imported by the server, never by this kernel
        assert int(parent) != shim and int(kernel) != shim  # a fork, not the started process
        started = km.provisioner.process
    finally:
        client.stop_channels()
        run_sync(km.shutdown_kernel)()
    assert started.returncode == 0  # the kernel's own exit status, through the shim
    assert _gone(int(kernel))


@pytest.mark.parametrize("backend", ["svg", None])
def test_a_forked_kernel_draws_with_the_backend_its_environment_names(forks, tmp_path,
                                                                     monkeypatch, backend):
    """The server imported matplotlib under the run's backend; a kernel started with another
    one in its environment (or none: ipykernel's inline default) draws with that."""
    if backend:
        monkeypatch.setenv("MPLBACKEND", backend)
    else:
        monkeypatch.delenv("MPLBACKEND", raising=False)
    km, client = _start(forks, tmp_path)
    try:
        shown, reply = _run(client, "import sys; print('matplotlib' in sys.modules)\n"
                                    "import matplotlib.pyplot as plt; print(plt.get_backend())")
        assert reply["status"] == "ok", reply
        assert shown.split() == ["True", backend or kernel_forks.INLINE_BACKEND]
    finally:
        client.stop_channels()
        run_sync(km.shutdown_kernel)()


def test_an_interrupt_reaches_the_forked_kernel(forks, tmp_path):
    km, client = _start(forks, tmp_path)
    try:
        sleeping = client.execute("print('asleep', flush=True); import time; time.sleep(60)")
        _wait_for_stdout(client, sleeping, "asleep")  # an interrupt meant for a running cell
        started = time.monotonic()
        run_sync(km.interrupt_kernel)()
        reply = run_sync(client.get_shell_msg)(timeout=30)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - started < 20
        shown, after = _run(client, "print(6 * 7)")
        assert (shown, after["status"]) == ("42\n", "ok"), after  # and it goes on
    finally:
        client.stop_channels()
        run_sync(km.shutdown_kernel)()


def test_a_killed_shim_takes_its_kernel_along(forks, tmp_path):
    km, client = _start(forks, tmp_path)
    shown, _ = _run(client, "import os; print(os.getpid())")
    kernel = int(shown)
    client.stop_channels()
    run_sync(km.shutdown_kernel)(now=True)  # SIGKILL to the process jupyter_client started
    assert _gone(kernel)


def test_closing_the_server_leaves_no_kernel_and_no_socket(tmp_path):
    server = kernel_forks.ForkServer().__enter__()
    km, client = _start(server, tmp_path)
    kernel = int(_run(client, "import os; print(os.getpid())")[0])
    client.stop_channels()
    server.close()  # the run's process ending: the shim sees the server go and stops the kernel
    assert _gone(kernel)
    run_sync(km.shutdown_kernel)(now=True)
    assert not server.folder.exists()


def test_only_ipykernel_launcher_commands_are_forked():
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]
    shim = kernel_forks.shim_command("/tmp/s.sock", cmd)
    assert shim == [sys.executable, "-I", "-S", str(kernel_forks.SHIM), "/tmp/s.sock", "-f",
                    "/tmp/k.json"]
    assert kernel_forks.shim_command("/tmp/s.sock", ["R", "--slave"]) is None


def test_the_server_imports_start_no_thread_so_forking_is_safe():
    """fork() copies one thread: a module that started a thread at import would leave it (and
    any lock it held) missing in every kernel."""
    modules = sorted({m for nb in sorted(Path("notebooks").glob("**/*.ipynb"))
                      for m in kernels.warm_modules(nb) if m.startswith("runbook_lib.")})
    probe = ("import threading, sys\nfrom runbook_lib.app import kernel_forks as k\n"
             "k.warm(); k._import(sys.argv[1:])\n"
             "print(threading.active_count(), sorted(t.name for t in threading.enumerate()))")
    done = subprocess.run([sys.executable, "-c", probe, *modules], capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split(" ", 1)[0] == "1", done.stdout
    assert len(modules) > 20


def _send(conn, request: bytes, fds: list[int]) -> None:
    import array
    import socket

    conn.sendmsg([len(request).to_bytes(8, "big") + request],
                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else [])


def test_a_request_brings_its_arguments_and_exactly_four_streams():
    import socket

    server, shim = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with server, shim:
        read, write = os.pipe()
        try:
            _send(shim, b'{"args": ["-f", "k.json"], "cwd": "/", "env": {}}', [0, 1, 2, read])
            request, fds = kernel_forks._receive(server)
            assert request == {"args": ["-f", "k.json"], "cwd": "/", "env": {}}
            assert len(fds) == 4 and all(fd > 2 for fd in fds)  # copies, ours to close
            for fd in fds:
                os.close(fd)
            _send(shim, b'{"args": []}', [0, 1])  # streams missing: refused, copies closed
            assert kernel_forks._receive(server) == (None, [])
            shim.sendall((100).to_bytes(8, "big") + b"{}")  # shorter than it says, then gone
            shim.shutdown(socket.SHUT_WR)
            assert kernel_forks._receive(server) == (None, [])
        finally:
            os.close(read)
            os.close(write)


def test_the_shim_hears_its_kernels_exit_status():
    import socket

    server, shim = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with server, shim:
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        waiting = {pid: server}
        deadline = time.monotonic() + 10
        while waiting and time.monotonic() < deadline:
            kernel_forks._report_exits(waiting)
            time.sleep(0.01)
        assert waiting == {}
        assert shim.makefile("r").readline() == "3\n"


def test_only_the_librarys_and_botos_modules_are_imported_by_the_server(forks, monkeypatch):
    sent = []
    monkeypatch.setattr(forks._process.stdin, "write", sent.append)
    forks.preload(["runbook_lib.views.nb", "matplotlib.pyplot", "boto3", "os"])
    forks.preload(["matplotlib.pyplot"])  # nothing to send
    assert sent == [b'["runbook_lib.views.nb", "boto3"]\n']


def test_a_server_whose_run_was_killed_exits_and_leaves_nothing_in_tmp():
    server = kernel_forks.ForkServer().__enter__()
    process = server._process
    process.stdin.close()  # as when the run's process is killed: its end of the pipe closes
    assert process.wait(timeout=10) == 0
    assert not Path(server.socket).exists() and not server.folder.exists()
    server._process = None


def test_a_relay_whose_fork_server_cannot_start_starts_kernels_the_usual_way(monkeypatch):
    def refuse(self):
        raise RuntimeError("the kernel fork server did not start")

    made: list[str] = []  # folders the fork server's module makes (other runs make theirs)
    monkeypatch.setattr(kernel_forks.ForkServer, "__enter__", refuse)
    monkeypatch.setattr(kernel_forks, "tempfile", SimpleNamespace(
        mkdtemp=lambda **kw: made.append(kw.get("prefix", "")) or tempfile.mkdtemp(**kw)))
    with kernels.KernelRelay(forked=True) as relay:
        assert relay._forks is None
        km = relay.take(Path("notebooks/00_overview.ipynb"))
        assert "runbook_fork_socket" not in km.__dict__
        assert "ipykernel_launcher" in km.format_kernel_cmd()
    assert made == []  # a server that did not start made no folder to leave behind
