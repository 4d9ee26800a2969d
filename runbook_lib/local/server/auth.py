"""The local AWS's own credentials: one key pair per state folder, and how clients find it.

The local AWS runs buildspec commands, so whoever can call it can run commands as its operator.
It therefore answers only requests signed (SigV4) with the key pair kept in its state folder,
in ``credentials.json`` with mode 0600: reading that file is what being the operator means.

Clients find the key pair for an endpoint without being told: a server in this process
registers itself; otherwise the server's public health answer names its state folder, and the
file there is read (which only its owner can do).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CREDENTIALS_FILE = "credentials.json"
ACCESS_KEY_PREFIX = "LKIA"  # "local" key, shaped like AWS's AKIA... ids
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


def load_or_create(state_dir: Path) -> Credentials:
    """The state folder's key pair, generated on first use (mode 0600, never rewritten)."""
    from runbook_lib.local.server.lock import check_owned

    state_dir = Path(state_dir)
    if (state_dir / CREDENTIALS_FILE).exists():
        check_owned(state_dir, "--state-dir")
        check_owned(state_dir / CREDENTIALS_FILE, "the local AWS's key pair")
    existing = read_credentials(state_dir)
    if existing:
        return existing
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = Credentials(ACCESS_KEY_PREFIX + secrets.token_hex(8).upper(),
                        secrets.token_urlsafe(30))
    payload = json.dumps({"access_key_id": fresh.access_key_id,
                          "secret_access_key": fresh.secret_access_key}).encode()
    try:
        fd = os.open(state_dir / CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its pair
        return read_credentials(state_dir) or _unreadable(state_dir)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    return fresh


def _unreadable(state_dir: Path) -> Credentials:
    from runbook_lib.core.errors import LocalAwsError

    raise LocalAwsError(
        f"{state_dir / CREDENTIALS_FILE} exists but cannot be read as the local AWS's key pair. "
        "Fix: check its owner and mode (0600), or delete it to generate a new pair (clients "
        "holding the old pair must re-export the lines `runbook local start` prints)."
    )


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
    from runbook_lib.local.server.client import HEALTH_PATH

    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=5) as resp:
            state_dir = json.loads(resp.read()).get("state_dir")
    except (OSError, ValueError, AttributeError):
        return None
    return read_credentials(Path(state_dir)) if isinstance(state_dir, str) else None
