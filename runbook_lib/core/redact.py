"""Recognise secret-looking values and mask known secrets, in one place.

Used wherever text may reach an operator (build-variable checks, buildspec lint, logs, notebook
outputs), so that "looks like a secret" means the same thing everywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

MASK = "***"

_SECRET_NAME_RE = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL"
    r"|(^|_)AUTH(_|$))",
    re.IGNORECASE,
)
_SECRET_VALUE_RES = (
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),  # Slack tokens
)


def looks_like_secret_name(name: str) -> bool:
    """A variable name that announces a secret (DB_PASSWORD, API_KEY, GITHUB_TOKEN...)."""
    return bool(_SECRET_NAME_RE.search(name or ""))


def looks_like_secret_value(value: str) -> bool:
    """A value shaped like a credential: known key formats, or a long high-entropy string."""
    if not value:
        return False
    if any(r.search(value) for r in _SECRET_VALUE_RES):
        return True
    return _random_looking(value)


def looks_secret(name: str, value: str) -> bool:
    return looks_like_secret_name(name) or looks_like_secret_value(value)


def mask(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each known secret value (longest first) with ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _random_looking(value: str) -> bool:
    """Long, unspaced, mixed-case with several digits and high entropy: a generated token.

    Identifiers such as ``s3:PutLifecycleConfiguration`` or ARNs are long too, but they are
    words (few digits) or carry ``:``; those are not flagged.
    """
    if len(value) < 24 or any(c in value for c in " :.@"):
        return False
    digits = sum(c.isdigit() for c in value)
    classes = sum(any(f(c) for c in value) for f in (str.islower, str.isupper, str.isdigit))
    return digits >= 3 and classes == 3 and _entropy(value) >= 4.2


def _entropy(value: str) -> float:
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
