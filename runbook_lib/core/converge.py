"""Calls that must converge despite real AWS's two usual surprises.

1. **A role just created is not assumable yet.** IAM is eventually consistent: for some seconds
   after CreateRole or PutRolePolicy, CodeBuild and CodePipeline refuse the role ("... cannot
   be assumed", "not authorized to perform: sts:AssumeRole"). :func:`while_role_propagates`
   retries such a call with backoff for a bounded time, then says so clearly.
2. **A create whose answer was lost.** botocore retries a call after a network error; when the
   first attempt had taken effect, the retry answers "already exists". :func:`create_or_adopt`
   treats that as converged when the resource found is ours (tagged by the suite).

AWS gives no dedicated error code for (1), only generic validation codes, so the check is the
code *and* the wording; that is the one place this project reads an error message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError

if TYPE_CHECKING:
    from runbook_lib.core.session import AwsSession

T = TypeVar("T")

ROLE_WAIT_SECONDS = 120.0
_ROLE_CODES = {"InvalidInputException", "InvalidStructureException",
               "InvalidParameterValueException", "ValidationException", "AccessDeniedException"}
_ROLE_NOT_READY = re.compile(r"cannot be assumed|not authorized to perform:? ?(sts:)?AssumeRole"
                             r"|unable to assume (the )?role", re.IGNORECASE)


def role_not_ready(err: ClientError) -> bool:
    """True when AWS refused a call because a role is not (yet) assumable by the service."""
    error = err.response.get("Error", {})
    return (error.get("Code") in _ROLE_CODES
            and bool(_ROLE_NOT_READY.search(str(error.get("Message", "")))))


def while_role_propagates(call: Callable[[], T], what: str, role_arn: str,
                          role_exists: Callable[[], bool] | None = None,
                          timeout: float = ROLE_WAIT_SECONDS,
                          sleep: Callable[[float], None] = time.sleep,
                          clock: Callable[[], float] = time.monotonic) -> T:
    """Run ``call``; while the role is not assumable yet, retry with backoff up to ``timeout``.

    Any other error goes through unchanged, and so does the first refusal when ``role_exists``
    says the role is missing altogether (nothing to wait for: the IAM step was skipped). After
    the timeout, a ``StepError`` names the role, the time waited and the fix, and chains AWS's
    last answer.
    """
    start = clock()
    delay = 1.0
    while True:
        try:
            return call()
        except ClientError as err:
            waited = clock() - start
            if not role_not_ready(err):
                raise
            if role_exists is not None and not role_exists():
                raise
            role_exists = None  # it exists: from now on, only time will tell
            if waited + delay > timeout:
                raise StepError(
                    f"{what}: the role {role_arn} is still not assumable after {waited:.0f}s "
                    "of retries (IAM changes take a while to reach every service). Fix: re-run "
                    "this step in a minute; if it persists, check the role's trust policy "
                    "(the service principal, aws:SourceAccount and aws:SourceArn)."
                ) from err
            sleep(delay)
            delay = min(delay * 2, 15.0)


def role_exists_check(session: AwsSession, role_arn: str) -> Callable[[], bool]:
    """A check that the role named by ``role_arn`` exists, for :func:`while_role_propagates`."""

    def exists() -> bool:
        try:
            session.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return False
            raise
        return True

    return exists


def create_or_adopt(create: Callable[[], T], exists_codes: tuple[str, ...],
                    adopt: Callable[[], T]) -> T:
    """Run ``create``; on an "already exists" answer, ``adopt`` the resource found instead.

    ``adopt`` must check ownership (``tags.require_owned``) so that a look-alike nobody tagged
    is never taken over; it returns what ``create`` would have.
    """
    try:
        return create()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in exists_codes:
            raise
        return adopt()
