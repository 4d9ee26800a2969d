"""Where a `runbook` command's kernels reach AWS: real AWS (credentials checked), or the local
AWS at ``AWS_ENDPOINT_URL``, else the one running in the state folder, else one started for the
command and stopped after it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from runbook_lib.core import local_endpoint
from runbook_lib.core.headless import HEADLESS_ENV
from runbook_lib.views import waiting


@contextlib.contextmanager
def target_environment(target: str) -> Iterator[str | None]:
    """Make sure kernels can reach the target; start a local AWS for the run if none is up."""
    from runbook_lib.local.server import process

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", HEADLESS_ENV, "MPLBACKEND",
                                            waiting.RUNNER_REPORTS_ENV)}
    started = None
    try:
        os.environ[HEADLESS_ENV] = "1"
        os.environ[waiting.RUNNER_REPORTS_ENV] = "1"  # one progress line per wait, the runner's
        os.environ.setdefault("MPLBACKEND", "Agg")
        if target == "aws":
            require_aws_credentials()
        elif not os.environ.get("AWS_ENDPOINT_URL"):
            state_dir = local_endpoint.default_state_dir()
            status = local_endpoint.read_status(state_dir)
            if not (status and status.alive):
                print(f"starting the local AWS (state in {state_dir}) ...", file=sys.stderr,
                      flush=True)
                status = started = process.start(state_dir)
            else:
                _say_kept_factor(status.endpoint_url, state_dir)
            os.environ["AWS_ENDPOINT_URL"] = status.endpoint_url
        yield os.environ.get("AWS_ENDPOINT_URL") if target == "local" else None
    finally:
        if started is not None:
            process.stop(Path(started.state_dir))
            print("stopped the local AWS this command started", file=sys.stderr, flush=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def require_aws_credentials(region: str | None = None) -> None:
    """Target 'aws' refuses to start, saying how to provide them, when boto3 finds no
    credentials (or the named profile does not exist); nothing is called."""
    from runbook_lib.core.session import AwsSession

    AwsSession("aws", region or os.environ.get("AWS_REGION"))


def _say_kept_factor(endpoint_url: str, state_dir: Path) -> None:
    """A running local AWS keeps the rehearsal clock it was started with: when this command
    asked for another one ($RUNBOOK_LOCAL_TIME_FACTOR, as `make run` does), say so."""
    from runbook_lib.local import clock
    from runbook_lib.local.server import client

    wanted = os.environ.get(clock.FACTOR_ENV)
    if not wanted:
        return
    try:
        running = float(client.server_info(endpoint_url).get("time_factor") or 1)
        asked = clock.parse_factor(wanted)
    except Exception:  # the run itself meets an unreachable server, and says so
        return
    if running != asked:
        print(f"note: the local AWS already running (state in {state_dir}) keeps its time "
              f"factor {running:g}, not {clock.FACTOR_ENV}={wanted}: its waits run "
              f"{'in real time' if running == 1 else f'{running:g} times faster'}. For "
              f"{asked:g}, stop it first (`runbook local stop`).", file=sys.stderr, flush=True)
