"""What a credential looks like, by kind: the one detector for parameters, lint and logs.

A parameter, a buildspec's plaintext variable or a log line may carry a credential by mistake:
a URL with its password, a JWT, a private key, an AWS key pair, a GitHub, npm or Slack token.
Each kind has a shape that ordinary values (ARNs, S3 URIs, commit SHAs, URLs without a
password, version strings) do not have; :func:`secret_spans` finds them anywhere in a text,
whatever surrounds them (``:``, ``.``, ``@``, quotes, ``=``), and names the kind without
returning the value. An AWS secret access key has no prefix: it is 40 characters of base64
(``/`` and ``+`` included) that read as random; a path of words of the same length, a hex
digest, or the path of a URL or an ARN is not one.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class SecretSpan(NamedTuple):
    """Where a credential sits in a text, and its kind in words (never the value)."""

    start: int
    end: int
    kind: str


URL_PASSWORD = "a URL with a password"
JWT = "a JSON web token"
PRIVATE_KEY = "a private key"
AWS_ACCESS_KEY_ID = "an AWS access key id"
AWS_SECRET_KEY = "an AWS secret access key"
GITHUB_TOKEN = "a GitHub token"
NPM_TOKEN = "an npm token"
SLACK_TOKEN = "a Slack token"

# (kind, pattern, group of the pattern that is the secret itself)
_SHAPES: tuple[tuple[str, re.Pattern[str], str | int], ...] = (
    (URL_PASSWORD, re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*:(?P<pw>[^\s/@?#]+)@"),
     "pw"),
    (JWT, re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"), 0),
    (PRIVATE_KEY, re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), 0),
    (AWS_ACCESS_KEY_ID, re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), 0),
    (GITHUB_TOKEN, re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
     0),
    (NPM_TOKEN, re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0),
    (SLACK_TOKEN, re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}"), 0),
)
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")
_HEX = re.compile(r"[0-9a-fA-F]+")
# Locations, not secrets: an ARN, and a web, git or S3 URL up to its query (host and path are
# names). Only these schemes: "key://..." may be a label glued to a key that starts with "//".
_LOCATION = re.compile(r"\barn:aws[\w-]*:[\w-]*:[\w-]*:\d*:\S*|"
                       r"\b(?:https?|s3|git|git\+ssh|ssh|codecommit|file)://[^\s?#]*")
_MIN_DISTINCT = 20  # a random 40-character base64 string has ~30 distinct characters


def secret_spans(text: str) -> list[SecretSpan]:
    """Every credential-shaped part of ``text``, in order; empty for ordinary values."""
    if not text:
        return []
    spans = [SecretSpan(m.start(group), m.end(group), kind)
             for kind, pattern, group in _SHAPES for m in pattern.finditer(text)]
    locations = None
    for m in _BASE64_RUN.finditer(text):
        if not _random_base64(m[0]):
            continue
        if locations is None:
            locations = [loc.span() for loc in _LOCATION.finditer(text)]
        if not any(start <= m.start() < end for start, end in locations):
            spans.append(SecretSpan(m.start(), m.end(), AWS_SECRET_KEY))
    return sorted(spans)


def secret_kinds(text: str) -> list[str]:
    """The kinds of credential in ``text``, once each, in order of appearance."""
    return list(dict.fromkeys(span.kind for span in secret_spans(text)))


def has_secret(text: str) -> bool:
    """Whether ``text`` holds anything credential-shaped."""
    return bool(secret_spans(text))


def mask_spans(text: str, mask: str) -> str:
    """``text`` with every credential-shaped part replaced by ``mask``."""
    out, at = [], 0
    for start, end, _ in secret_spans(text):
        if start >= at:
            out += [text[at:start], mask]
            at = end
    return "".join(out) + text[at:]


def _random_base64(run: str) -> bool:
    """Mixed case and many distinct characters, and not a hex digest (a commit SHA)."""
    return (len(set(run)) >= _MIN_DISTINCT and not _HEX.fullmatch(run)
            and any(c.islower() for c in run) and any(c.isupper() for c in run))
