"""Temporary credentials for a running build, served as CodeBuild's container credentials.

In CodeBuild a build never holds a long-term key: the SDKs and the AWS CLI find
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (with ``AWS_CONTAINER_AUTHORIZATION_TOKEN``) and fetch
temporary credentials of the project's service role from it. The local AWS does the same: each
build is issued an ``ASIA...`` key id, a secret and a session token, served at
``/_runbook/build-credentials/<slot>`` to a caller that presents the build's authorization
token, and accepted by the signature check (with that session token) only until the build ends
and :func:`revoke` is called. The operator's key pair never enters a build.

The local AWS does not evaluate IAM policies: a build's credentials authenticate as that build
(the role is recorded, not enforced); what they prove is that the caller is a build that is
still running. Issued credentials live in this process's memory only: a restart revokes all.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runbook_lib.local.server.wire import Response

PATH_PREFIX = "/_runbook/build-credentials/"
ACCESS_KEY_PREFIX = "ASIA"  # AWS's prefix for temporary (STS) key ids
LIFETIME = timedelta(hours=1)  # the SDKs fetch again before this; the build's end revokes


@dataclass(frozen=True)
class BuildCredentials:
    """One build's temporary credentials; secrets never appear in a repr."""

    build_id: str
    role_arn: str
    slot: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    authorization_token: str = field(repr=False)

    def secrets(self) -> set[str]:
        """What the build log must mask."""
        return {self.secret_access_key, self.session_token, self.authorization_token}

    def full_uri(self, endpoint_url: str) -> str:
        return endpoint_url.rstrip("/") + PATH_PREFIX + self.slot


_by_slot: dict[str, BuildCredentials] = {}
_by_key: dict[str, BuildCredentials] = {}
_retired: dict[str, tuple[BuildCredentials, datetime]] = {}  # key id -> (creds, expiry)
_lock = threading.Lock()


def issue(build_id: str, role_arn: str) -> BuildCredentials:
    """New credentials for a build that is starting."""
    creds = BuildCredentials(
        build_id=build_id, role_arn=role_arn, slot=secrets.token_hex(16),
        access_key_id=ACCESS_KEY_PREFIX + secrets.token_hex(8).upper(),
        secret_access_key=secrets.token_urlsafe(30),
        session_token=secrets.token_urlsafe(96),
        authorization_token=secrets.token_urlsafe(32))
    with _lock:
        _by_slot[creds.slot] = creds
        _by_key[creds.access_key_id] = creds
    return creds


def revoke(creds: BuildCredentials | None) -> None:
    """The build ended: its credentials are refused from now on."""
    if creds is None:
        return
    now = datetime.now(UTC)
    with _lock:
        _by_slot.pop(creds.slot, None)
        _by_key.pop(creds.access_key_id, None)
        for key in [k for k, (_, expiry) in _retired.items() if expiry <= now]:
            del _retired[key]
        _retired[creds.access_key_id] = (creds, now + LIFETIME)


def active(access_key_id: str, session_token: str, download: bool = False
           ) -> BuildCredentials | None:
    """The running build's credentials for this key id and session token, else None.

    ``download``: a presigned S3 object read, which the credentials of an ended build still
    sign until they would have expired (AWS's role credentials live their hour whatever the
    build does): a scheduled report's link must open after its build ended."""
    with _lock:
        creds = _by_key.get(access_key_id)
        if creds is None and download and access_key_id in _retired:
            retired, expiry = _retired[access_key_id]
            creds = retired if datetime.now(UTC) < expiry else None
    if creds is None or not hmac.compare_digest(creds.session_token.encode(),
                                                session_token.encode()):
        return None
    return creds


def serve(environ: dict[str, Any]) -> Response:
    """GET ``/_runbook/build-credentials/<slot>`` with the build's authorization token: the
    credentials as the container credentials provider returns them."""
    slot = (environ.get("PATH_INFO") or "")[len(PATH_PREFIX):]
    with _lock:
        creds = _by_slot.get(slot)
    given = (environ.get("HTTP_AUTHORIZATION") or "").encode()
    if (environ.get("REQUEST_METHOD", "GET") != "GET" or creds is None
            or not hmac.compare_digest(given, creds.authorization_token.encode())):
        return _json({"code": "AccessDenied", "message": "no running build has these "
                      "credentials (the build ended, or the authorization token is wrong)"}, 403)
    expires = (datetime.now(UTC) + LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _json({"AccessKeyId": creds.access_key_id, "SecretAccessKey":
                  creds.secret_access_key, "Token": creds.session_token,
                  "Expiration": expires, "RoleArn": creds.role_arn})


def _json(payload: dict, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())
