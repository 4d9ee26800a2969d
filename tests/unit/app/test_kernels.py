"""The kernels of `runbook run`.

The relay: kernels started one notebook ahead are fresh, in the notebook's folder, warmed with
only the modules the notebook imports (no name in its namespace), and every kernel it started is
gone when its ``with`` block ends, on success or on an error.

Shutdown without SIGINT, so no stray "KeyboardInterrupt caught in kernel" lands in `runbook
run`'s output: jupyter_client interrupts every kernel before it shuts it down; a kernel busy with
a message at that moment logs the KeyboardInterrupt to the run's stderr. The signals the kernel
manager sends are read at the provisioner, where they leave for the kernel process.
"""

import asyncio
import os
import signal
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from runbook_lib.app import kernels


def _notebook(folder, name, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = folder / name
    nbformat.write(nb, path)
    return path


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid(km):
    return km.provisioner.process.pid


def test_imported_modules_reads_the_code_cells(tmp_path):
    path = _notebook(tmp_path, "a.ipynb", [
        "import wave, os.path as p\nfrom runbook_lib.views import nb, progress",
        "%matplotlib inline",  # not Python: skipped
        "from . import x  # relative: skipped",
    ])
    assert kernels.imported_modules(path) == [
        "wave", "os.path", "runbook_lib.views", "runbook_lib.views.nb",
        "runbook_lib.views.progress"]


def test_a_notebook_drawing_figures_warms_pyplot_too(tmp_path):
    path = _notebook(tmp_path, "b.ipynb", ["from runbook_lib.views import nb, plots"])
    assert kernels.warm_modules(path) == [
        "runbook_lib.views", "runbook_lib.views.nb", "runbook_lib.views.plots",
        "runbook_lib.views.review", "runbook_lib.operate.overview", "matplotlib.pyplot"]
    assert "matplotlib.pyplot" not in kernels.warm_modules(
        _notebook(tmp_path, "c.ipynb", ["from runbook_lib.views import nb"]))


def test_warm_up_binds_no_name_and_survives_a_bad_module():
    namespace = {}
    exec(kernels.warm_up_line(["wave", "no_such_module_here", "os.getcwd"]), namespace)
    assert set(namespace) == {"__builtins__"}


def _run(notebook, out, km):
    return pm.execute_notebook(str(notebook), str(out), kernel_name="python3",
                               progress_bar=False, log_output=False, km=km,
                               kernel_manager_class=kernels.kernel_manager_class())


def test_kernels_are_fresh_warm_in_the_notebook_folder_and_shut_down(tmp_path):
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    probe = ("import os, sys\nprint(os.getcwd(), 'wave' in sys.modules, "
             "[n for n in ('wave', 'MODULES', 'importlib', 'left') if n in dir()])")
    first = _notebook(first_dir, "first.ipynb", [probe, "left = 1\nimport wave"])
    second = _notebook(second_dir, "second.ipynb", [probe, "import wave"])
    with kernels.KernelRelay() as relay:
        km1 = relay.take(first)
        folders = [Path(km1.ip).parent]
        pids = [_pid(km1)]  # read before retiring: a kernel shut down has no process left
        relay.prepare([second])
        spare_pid = _pid(relay._spares[0][1])
        done1 = _run(first, tmp_path / "out1.ipynb", km1)
        relay.retire(km1)
        km2 = relay.take(second)
        folders.append(Path(km2.ip).parent)
        pids.append(_pid(km2))
        assert pids[1] == spare_pid  # the kernel started ahead
        done2 = _run(second, tmp_path / "out2.ipynb", km2)
        relay.retire(km2)
    for done, folder in ((done1, first_dir), (done2, second_dir)):
        assert done.cells[0].outputs[0]["text"].strip() == f"{folder} True []"
    assert not any(_alive(pid) for pid in pids)
    assert not any(folder.exists() for folder in folders)  # no socket folder left in /tmp


def test_a_failure_inside_the_block_still_shuts_every_kernel_down(tmp_path):
    nb = _notebook(tmp_path, "n.ipynb", ["1"])
    pids = []
    with pytest.raises(RuntimeError, match="the notebook broke"), \
            kernels.KernelRelay() as relay:
        pids.append(_pid(relay.take(nb)))  # taken and never given back
        relay.prepare([nb, nb])
        pids += [_pid(km) for _, km in relay._spares]
        raise RuntimeError("the notebook broke")
    assert not any(_alive(pid) for pid in pids)


def test_a_notebook_taken_out_of_order_gets_its_own_kernel(tmp_path):
    first = _notebook(tmp_path, "a.ipynb", ["1"])
    other = _notebook(tmp_path, "b.ipynb", ["2"])
    with kernels.KernelRelay() as relay:
        relay.prepare([first, first])
        prepared = [_pid(km) for _, km in relay._spares]
        km = relay.take(other)
        own = _pid(km)
        assert own not in prepared and relay._spares == []
        relay.retire(km)
    assert not any(_alive(pid) for pid in prepared + [own])


# -- shutdown without SIGINT ------------------------------------------------------------------


async def _started_kernel():
    km = kernels.kernel_manager_class()(kernel_name="python3")
    await km.start_kernel()
    sent: list[int] = []
    deliver = km.provisioner.send_signal

    async def spy(signum: int) -> None:
        sent.append(signum)
        await deliver(signum)

    km.provisioner.send_signal = spy
    return km, sent


def test_shutdown_sends_no_interrupt():
    async def scenario():
        km, sent = await _started_kernel()
        await km.shutdown_kernel()
        assert not await km.is_alive()
        return sent

    assert signal.SIGINT not in asyncio.run(scenario())


def test_an_explicit_interrupt_still_goes_out():
    """Only the shutdown's interrupt is dropped; a real one (a cell timeout) still goes out."""
    async def scenario():
        km, sent = await _started_kernel()
        try:
            await km.interrupt_kernel()
        finally:
            await km.shutdown_kernel(now=True)
        return sent

    assert signal.SIGINT in asyncio.run(scenario())


def test_shutdown_removes_the_socket_folder():
    """Each kernel's IPC sockets live in a private folder; a run of sixteen notebooks (or a test
    suite of hundreds) must not leave one per kernel in the temporary folder."""
    async def scenario():
        km, _ = await _started_kernel()
        folder = Path(km.ip).parent
        assert folder.is_dir()
        await km.shutdown_kernel()
        return folder

    assert not asyncio.run(scenario()).exists()


def test_a_folder_not_made_for_sockets_is_left_alone(tmp_path):
    kept = tmp_path / "runbook-kernel-lookalike"
    kept.mkdir()
    kernels.remove_socket_folder(str(kept / "kernel"))
    kernels.remove_socket_folder("127.0.0.1")
    assert kept.is_dir()
