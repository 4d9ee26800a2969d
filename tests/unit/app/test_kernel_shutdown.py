"""Kernels of a headless run are shut down without SIGINT, so no stray
"KeyboardInterrupt caught in kernel" lands in `runbook run`'s output.

jupyter_client interrupts every kernel before it shuts it down; a kernel busy with a message at
that moment logs the KeyboardInterrupt to the run's stderr. The signals the kernel manager sends
are read at the provisioner, where they leave for the kernel process.
"""

import asyncio
import signal

from runbook_lib.app import kernels


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
