"""Sessions for the benchmarks' AWS-shaped endpoints (a synthetic log, a recorded history).

Such an endpoint is not a local AWS: it has no state folder whose key pair the session would
sign with, and it checks no signature. Its session signs with placeholder keys, whatever the
shell holds, so `make bench` runs in a clean shell (no AWS credentials set), and an operator's
real credentials never go to a benchmark's endpoint.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any

from runbook_lib.core.session import AwsSession

_PLACEHOLDER = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
_CHAIN = ("AWS_PROFILE", "AWS_SESSION_TOKEN", *_PLACEHOLDER)


SERVICES = ("codebuild", "codepipeline", "logs")  # what the endpoints answer


def shaped_session(endpoint_url: str, region: str = "us-east-1") -> AwsSession:
    """An :class:`AwsSession` on ``endpoint_url`` signing with placeholder keys.

    The keys and the profile are read when the session and its clients (:data:`SERVICES`,
    cached by the session) are made, so they are made here; the environment is restored
    after.
    """
    saved = {name: os.environ.pop(name) for name in _CHAIN if name in os.environ}
    os.environ.update(_PLACEHOLDER)
    try:
        session = AwsSession("local", region, endpoint_url=endpoint_url)
        for service in SERVICES:
            session.client(service)
        return session
    finally:
        for name in _PLACEHOLDER:
            os.environ.pop(name, None)
        os.environ.update(saved)


class ServedInChild:
    """An endpoint served in a forked child process, for the span of a ``with`` block.

    ``serve(*args, ready)`` binds a loopback port, sends it through the pipe end ``ready`` and
    serves for ever; the block gets the endpoint's URL and the child ends with the block.
    A child of its own keeps the endpoint's work off the interpreter being measured.
    """

    def __init__(self, serve: Callable[..., None], *args: Any) -> None:
        self.serve = serve
        self.args = args
        self.process: multiprocessing.Process | None = None

    def __enter__(self) -> str:
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=self.serve, args=(*self.args, child), daemon=True)
        self.process.start()
        return f"http://127.0.0.1:{parent.recv()}"

    def __exit__(self, *_exc) -> None:
        if self.process:
            self.process.terminate()
            self.process.join(5)
