"""Recognise secret-looking values and mask known secrets, in one place.

Used wherever text may reach an operator (build-variable checks, buildspec lint, logs, notebook
outputs), so that "looks like a secret" means the same thing everywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from runbook_lib.core import secret_shapes

MASK = "***"

_SECRET_NAME_RE = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL"
    r"|(^|_)AUTH(_|$))",
    re.IGNORECASE,
)


def looks_like_secret_name(name: str) -> bool:
    """A variable name that announces a secret (DB_PASSWORD, API_KEY, GITHUB_TOKEN...)."""
    return bool(_SECRET_NAME_RE.search(name or ""))


def looks_like_secret_value(value: str) -> bool:
    """A value shaped like a credential: a known kind anywhere in it (URL with a password,
    JWT, private key, AWS key pair, GitHub/npm/Slack token; see :mod:`.secret_shapes`), or a
    long high-entropy string."""
    if not value:
        return False
    return secret_shapes.has_secret(value) or _random_looking(value)


def looks_secret(name: str, value: str) -> bool:
    return looks_like_secret_name(name) or looks_like_secret_value(value)


def mask(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each known secret value (longest first) with ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


_TOKEN = re.compile(r"[A-Za-z0-9_\-+/]{20,}={0,2}")
_NAMED_VALUE = re.compile(r"\b(?P<name>[A-Za-z][A-Za-z0-9_]*)(?P<sep>\s*[=:]\s*)"
                          r"(?P<q>[\"']?)(?P<value>[^\s\"']+)")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/\-]{8,}=*")
_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_KEY_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
# Resource names are locations, not secrets, however random an artifact key looks.
_RESOURCE_NAME = re.compile(r"\barn:aws[\w-]*:[\w-]*:[\w-]*:\d*:\S*|\bs3://\S+")
# A token ending in a file name's extension is a path (``bucket/pipeline/SourceOutp/a1b2.zip``,
# as CodeBuild logs its source), not a secret: secrets are not followed by ``.zip``.
_FILE_SUFFIX = re.compile(r"\.(zip|tar|gz|tgz|jar|whl|json|ya?ml|txt|html|log)\b")


def redact_lines(lines: Iterable[str]) -> list[str]:
    """Every line through :func:`redact_line`; a private key block is masked whole."""
    out, in_key = [], False
    for line in lines:
        masked, in_key = redact_line_in_block(line, in_key)
        out.append(masked)
    return out


def redact_line_in_block(line: str, in_key: bool) -> tuple[str, bool]:
    """One line of a log, knowing whether a private key block is open before it.

    Returns the masked line and whether the block is still open after it, so that a reader
    that redacts only the lines it shows can carry the state across the lines it skips.
    """
    if _KEY_BEGIN.search(line):
        return _KEY_BEGIN.split(line)[0] + MASK, not _KEY_END.search(line)
    if in_key:
        return MASK, not _KEY_END.search(line)
    return redact_line(line), False


def key_block_state(line: str, in_key: bool) -> bool:
    """Whether a private key block is open after ``line`` (cheap: no masking)."""
    if "PRIVATE KEY-----" not in line:
        return in_key
    if _KEY_BEGIN.search(line):
        return not _KEY_END.search(line)
    return in_key and not _KEY_END.search(line)


def redact_line(line: str) -> str:
    """Mask secret-looking values in one log line.

    CodeBuild already masks the build's Parameter Store and Secrets Manager values; this
    catches what a command printed by itself: access keys, tokens, ``PASSWORD=...``.
    """
    line = _BEARER.sub(lambda m: f"{m[1]} {MASK}", line)
    line = secret_shapes.mask_spans(line, MASK)
    names = ([m.span() for m in _RESOURCE_NAME.finditer(line)]
             if "arn:" in line or "s3://" in line else [])

    def _token(m: re.Match[str]) -> str:
        if any(start <= m.start() < end for start, end in names):
            return m[0]
        if "/" in m[0] and _FILE_SUFFIX.match(line, m.end()):
            return m[0]
        return MASK if looks_like_secret_value(m[0]) else m[0]

    line = _TOKEN.sub(_token, line)
    return _NAMED_VALUE.sub(_mask_named_value, line)


def _mask_named_value(m: re.Match[str]) -> str:
    if (not looks_like_secret_name(m["name"]) or m["value"] == MASK
            or m["value"].startswith("$")):
        return m[0]
    return f"{m['name']}{m['sep']}{m['q']}{MASK}"


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
