"""The process jupyter_client starts for a kernel forked from a :mod:`.kernel_forks` server.

Run as ``python -I -S kernel_shim.py SOCKET KERNEL-ARGS...`` (standard library only, so it
starts in a few milliseconds): it hands the server its arguments, folder, environment and
standard streams, and stands for the forked kernel towards jupyter_client: signals sent to it
(an interrupt, a terminate) go to the kernel, and it exits with the kernel's exit status. The
kernel holds the read end of a pipe only this process writes to: when this process ends, even
killed with SIGKILL, the kernel sees the pipe close and exits too.
"""

import array
import json
import os
import signal
import socket
import sys

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def main(argv: list) -> int:
    server, args = argv[0], argv[1:]
    lifeline_read, lifeline_write = os.pipe()
    request = json.dumps({"args": args, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(server)
        fds = array.array("i", [0, 1, 2, lifeline_read])
        conn.sendmsg([len(request).to_bytes(8, "big") + request],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        os.close(lifeline_read)
        answers = conn.makefile("r")
        kernel = int(answers.readline() or 0)
        if not kernel:
            return 1  # the server could not fork: jupyter_client sees a kernel that died
        for number in FORWARDED:
            signal.signal(number, lambda sig, _frame: _forward(kernel, sig))
        status = answers.readline().strip()  # the kernel's exit status, when it has exited
    if not status:  # the server is gone: the kernel must not outlive this process
        _forward(kernel, signal.SIGTERM)
        return 1
    return int(status)


def _forward(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
