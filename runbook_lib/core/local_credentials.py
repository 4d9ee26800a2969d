"""The local AWS's key pair as its clients find it: one pair per state folder.

The local AWS runs buildspec commands, so whoever can call it can run commands as its operator.
It therefore answers only requests signed (SigV4) with the key pair kept in its state folder,
in ``credentials.json`` with mode 0600: reading that file is what being the operator means.

Clients find the key pair for an endpoint without being told: a server in this process
registers itself; otherwise the server's public health answer names its state folder, and the
file there is read (which only its owner can do). Kept in ``core`` so that the session signs
for a local AWS without importing it; the server creates the pair (``local/server/auth.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.core.local_endpoint import HEALTH_PATH

CREDENTIALS_FILE = "credentials.json"
_BEARER_CONTEXT = b"runbook-local-control-v1"

_in_process: dict[str, Credentials] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """An access key id and its secret; the secret never appears in a repr."""

    access_key_id: str
    secret_access_key: str = field(repr=False)

    def control_token(self) -> str:
        """The bearer token of the ``/_runbook/`` control API, derived from the secret."""
        return hmac.new(self.secret_access_key.encode(), _BEARER_CONTEXT,
                        hashlib.sha256).hexdigest()

    def environment(self, endpoint_url: str, region: str = "us-east-1") -> dict[str, str]:
        """What points the AWS CLI and SDKs at this local AWS."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_ENDPOINT_URL": endpoint_url, "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region}  # AWS CLI v1 reads only this one

    def export_lines(self, endpoint_url: str, region: str = "us-east-1") -> list[str]:
        """``export NAME=value`` lines for a shell (``eval "$(runbook local start)"`` works)."""
        return [f"export {k}={v}" for k, v in self.environment(endpoint_url, region).items()]


def read_credentials(state_dir: Path) -> Credentials | None:
    """The state folder's key pair, or None when it has none, cannot be read, or is not this
    user's own file (a planted pair is never used to sign)."""
    path = Path(state_dir) / CREDENTIALS_FILE
    try:
        info = os.stat(path)
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        data = json.loads(path.read_text())
        return Credentials(str(data["access_key_id"]), str(data["secret_access_key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def register_in_process(endpoint_url: str, credentials: Credentials) -> None:
    """A server in this process announces its key pair to clients in the same process."""
    with _lock:
        _in_process[endpoint_url.rstrip("/")] = credentials


def unregister_in_process(endpoint_url: str) -> None:
    with _lock:
        _in_process.pop(endpoint_url.rstrip("/"), None)


def credentials_for_endpoint(endpoint_url: str | None) -> Credentials | None:
    """The key pair of the local AWS at ``endpoint_url``, if this user can read it.

    Looked up in order: a server in this process; the state folder the server names in its
    health answer (one local HTTP call). None when neither works (a server of another user,
    or not a local AWS)."""
    if not endpoint_url:
        return None
    key = endpoint_url.rstrip("/")
    with _lock:
        if key in _in_process:
            return _in_process[key]
    # Asked each time, not cached: a restarted server may reuse the port with another folder.
    return _from_health(key)


def _from_health(endpoint_url: str) -> Credentials | None:
    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=5) as resp:
            state_dir = json.loads(resp.read()).get("state_dir")
    except (OSError, ValueError, AttributeError):
        return None
    return read_credentials(Path(state_dir)) if isinstance(state_dir, str) else None
