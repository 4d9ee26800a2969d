"""Kernels for a headless run: each one started ahead of its notebook, and shut down behind.

Papermill starts a fresh kernel per notebook, waits for it to boot (a second or more on a
loaded machine: Python, IPython, then the notebook's imports), and at the end waits again for
it to exit. Over the suite's sixteen notebooks that waiting was a third of ``make run``. A
:class:`KernelRelay` boots the kernels of the next notebooks, each importing the modules its
notebook imports (:func:`warm_modules`), while the current notebook runs; a finished kernel is
asked to shut down and left to exit on its own, then reaped. Each notebook still gets a fresh
kernel process of its own, in the folder JupyterLab would start it in, with the environment of
the run; the warm-up binds no name in the notebook's namespace, so a notebook that forgot an
import still fails as it would in JupyterLab.

Every kernel the relay starts is shut down by :meth:`KernelRelay.close` (a ``with`` block),
on success, on a failing notebook and on Ctrl-C alike.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from runbook_lib.app import kernel_forks

_SOCKET_FOLDER_PREFIX = "runbook-kernel-"

# As nbclient's own default: no IPython history file per kernel.
_KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]

# Modules the library imports only on first use (so that `runbook` starts quickly), which a
# notebook importing the library module then meets in a cell: matplotlib's pyplot alone takes
# seconds to import on a loaded machine, the overview's reads a second.
DEFERRED_IMPORTS = {
    # a setup notebook's plan review and its Next link (the overview's reads)
    "runbook_lib.views.nb": ("runbook_lib.views.review", "runbook_lib.operate.overview"),
    "runbook_lib.views.plots": ("matplotlib.pyplot",),
    "runbook_lib.views.operate_plots": ("matplotlib.pyplot",),
    "runbook_lib.operate.report": ("matplotlib.pyplot",),
}


def kernel_manager_class() -> type:
    """Kernels talk to this process over Unix sockets, not loopback TCP: nothing to listen on,
    and no "running over TCP without encryption" warning on every notebook."""
    import traitlets
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        transport = traitlets.CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @traitlets.default("ip")
        def _private_socket_prefix(self) -> str:
            # IPC "ports" are small numbers appended to this prefix: a folder of its own per
            # kernel keeps two runs (or a run and a test) from sharing socket files.
            return str(Path(tempfile.mkdtemp(prefix=_SOCKET_FOLDER_PREFIX)) / "kernel")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            # jupyter_client removes the socket files; the folder made for them goes too (a
            # kernel restarted in place keeps it), or every notebook run leaves one in /tmp.
            await super()._async_cleanup_resources(restart=restart)
            if not restart:
                remove_socket_folder(self.ip)

        cleanup_resources = _async_cleanup_resources

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            # A relay with a fork server has its kernels forked (kernel_forks.py).
            cmd = super().format_kernel_cmd(extra_arguments)
            socket_path = self.__dict__.get("runbook_fork_socket")
            return (kernel_forks.shim_command(socket_path, cmd) if socket_path else None) or cmd

        def client(self, **kwargs: Any) -> Any:
            # nbclient does not stop the channels of a kernel it did not start: the relay does.
            made = super().client(**kwargs)
            self.__dict__.setdefault("runbook_clients", []).append(made)
            return made

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client sends SIGINT before every shutdown; a kernel that is finishing a
            # message then logs "KeyboardInterrupt caught in kernel" into the run's output.
            # Papermill shuts a kernel down only once its cells are done: nothing to interrupt.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return IpcKernelManager


def remove_socket_folder(prefix: str) -> None:
    """Remove the private folder a kernel's IPC sockets were made in (``prefix`` is the
    kernel's ``ip``); anything else (a TCP address, a folder not made here) is left alone."""
    folder = Path(prefix).parent
    if (folder.name.startswith(_SOCKET_FOLDER_PREFIX)
            and folder.parent == Path(tempfile.gettempdir())):
        shutil.rmtree(folder, ignore_errors=True)


def imported_modules(notebook: Path) -> list[str]:
    """The absolute modules a notebook's code cells import, in order (``ast``: nothing runs).
    A cell that is not valid Python (a magic) is skipped."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    found: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            found += [n for n in names if n not in found]
    return found


def warm_modules(notebook: Path) -> list[str]:
    """What a kernel imports before ``notebook`` runs: its own imports, then what those import
    on first use (:data:`DEFERRED_IMPORTS`)."""
    modules = imported_modules(notebook)
    deferred = [d for m in modules for d in DEFERRED_IMPORTS.get(m, ())]
    return modules + [d for i, d in enumerate(deferred) if d not in deferred[:i]]


def warm_up_line(modules: list[str]) -> str:
    """One line the kernel runs at start: import ``modules`` into ``sys.modules`` only (no name
    lands in the notebook's namespace; one that is not a module, or fails, is left for the
    notebook to meet, with its own error)."""
    code = ("import importlib\nfor name in MODULES:\n    try:\n"
            "        importlib.import_module(name)\n    except Exception:\n        pass\n")
    return f"exec({code!r}, {{'MODULES': {tuple(modules)!r}}})"


class KernelRelay:
    """Hands out started kernels, prepared ahead; ``with KernelRelay() as relay:``. With
    ``forked``, the kernels are forks of one process that imported IPython and the notebooks'
    modules once (:mod:`.kernel_forks`): worth it for a run of several notebooks."""

    def __init__(self, kernel_name: str = "python3", forked: bool = False) -> None:
        self.kernel_name = kernel_name
        self._manager_class = kernel_manager_class()
        self._spares: list[tuple[Path, Any]] = []  # in the order they will be taken
        self._retiring: list[Any] = []
        self._taken: list[Any] = []  # handed out, not given back yet
        self._forked = forked
        self._forks: kernel_forks.ForkServer | None = None

    def __enter__(self) -> KernelRelay:
        if self._forked and kernel_forks.supported():
            try:
                self._forks = kernel_forks.ForkServer().__enter__()
            except (OSError, RuntimeError):  # kernels started the usual way: slower, same
                self._forks = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare(self, notebooks: list[Path]) -> None:
        """Start the kernels of the ``notebooks`` to be taken next, in that order, for later
        :meth:`take` calls (those already started are kept)."""
        for notebook in notebooks[len(self._spares):]:
            self._spares.append((Path(notebook), self._start(Path(notebook))))

    def take(self, notebook: Path) -> Any:
        """A started kernel manager for ``notebook``: the one prepared for it, else a new one.
        Give it back with :meth:`retire`."""
        if self._spares and self._spares[0][0] == Path(notebook):
            km = self._spares.pop(0)[1]
        else:  # taken out of the prepared order: those kernels are not for what comes
            for _, spare in self._spares:
                self.retire(spare)
            self._spares = []
            km = self._start(Path(notebook))
        self._taken.append(km)
        return km

    def retire(self, km: Any) -> None:
        """Ask the kernel to shut down, without waiting for it to exit (reaped later)."""
        from jupyter_core.utils import run_sync

        if km in self._taken:
            self._taken.remove(km)
        for made in km.__dict__.pop("runbook_clients", []):
            made.stop_channels()
        try:
            if run_sync(km.is_alive)():
                km.shutting_down = True
                run_sync(km.request_shutdown)()
        except RuntimeError:  # it already died: nothing to ask
            pass
        self._retiring.append(km)
        self._reap(wait=False)

    def close(self) -> None:
        """Shut down every kernel started here (the spares, those still out, those retired),
        waiting for each to exit."""
        for km in list(self._taken) + [spare for _, spare in self._spares]:
            self.retire(km)
        self._spares = []
        self._reap(wait=True)
        if self._forks is not None:
            self._forks.close()
            self._forks = None

    def _start(self, notebook: Path) -> Any:
        from jupyter_core.utils import run_sync

        km = self._manager_class(kernel_name=self.kernel_name)
        warm = warm_modules(notebook)
        if self._forks is not None:
            self._forks.preload(warm)
            km.runbook_fork_socket = self._forks.socket
        extra = _KERNEL_ARGS + ([f"--IPKernelApp.exec_lines={warm_up_line(warm)}"]
                                if warm else [])
        # The kernel process's own stderr (not its cells' output, which comes as messages): a
        # kernel asked to stop while it flushes logs a zmq traceback there that is no error of
        # the run's, and it would land in the operator's terminal.
        run_sync(km.start_kernel)(extra_arguments=extra, cwd=str(notebook.parent),
                                  stderr=subprocess.DEVNULL)
        return km

    def _reap(self, wait: bool) -> None:
        """Clean up retired kernels that have exited (with ``wait``: all, killing those that
        do not exit within jupyter_client's shutdown wait)."""
        from jupyter_core.utils import run_sync

        still = []
        for km in self._retiring:
            try:
                if not wait and run_sync(km.is_alive)():
                    still.append(km)
                    continue
                run_sync(km.finish_shutdown)()  # at once for a kernel that has exited
                run_sync(km.cleanup_resources)()
            except RuntimeError:
                pass
        self._retiring = still
