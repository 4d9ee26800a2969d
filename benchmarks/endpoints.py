"""Sessions for the benchmarks' AWS-shaped endpoints (a synthetic log, a recorded history).

Such an endpoint is not a local AWS: it has no state folder whose key pair the session would
sign with, and it checks no signature. Its session signs with placeholder keys, whatever the
shell holds, so `make bench` runs in a clean shell (no AWS credentials set), and an operator's
real credentials never go to a benchmark's endpoint.
"""

from __future__ import annotations

import os

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
