"""The local AWS's key pair made: one per state folder, generated on first use.

Reading and finding the pair (``Credentials``, ``read_credentials``, ``credentials_for_endpoint``)
is the client's side and lives in :mod:`runbook_lib.core.local_credentials`; only the server
creates one, here.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.core.local_credentials import CREDENTIALS_FILE, Credentials, read_credentials
from runbook_lib.local.server.lock import check_owned

ACCESS_KEY_PREFIX = "LKIA"  # "local" key, shaped like AWS's AKIA... ids


def load_or_create(state_dir: Path) -> Credentials:
    """The state folder's key pair, generated on first use (mode 0600, never rewritten)."""
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
    raise LocalAwsError(
        f"{state_dir / CREDENTIALS_FILE} exists but cannot be read as the local AWS's key pair. "
        "Fix: check its owner and mode (0600), or delete it to generate a new pair (clients "
        "holding the old pair must re-export the lines `runbook local start` prints)."
    )
