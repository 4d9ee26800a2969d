"""S3's SigV2 presigned URLs (what ``aws s3 presign`` and botocore's default presign give).

A SigV2 query signature covers the method, ``Content-MD5``, ``Content-Type``, the expiry and the
object path with its S3 subresources, but neither the body nor the ``x-amz-*`` headers. So it
is honoured for what AWS honours it for in practice here: a GET or HEAD of the one S3 object it
signs. Anything else riding on such a URL (a POST, an ``X-Amz-Target``, an ``Authorization``
header, a query parameter the signature does not cover, a bucket-level subresource) is refused,
and what passes is routed to S3 alone.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from runbook_lib.local.server.sigv4 import SignatureFailure, VerifiedScope

# The S3 subresources SigV2's canonical resource includes (botocore's list).
_V2_SUBRESOURCES = frozenset((
    "accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment "
    "torrent versioning versionId versions website uploads uploadId response-content-type "
    "response-content-language response-expires response-cache-control "
    "response-content-disposition response-content-encoding delete lifecycle tagging restore "
    "storageClass notification replication analytics metrics inventory select select-type "
    "object-lock").split())
# What a presigned object download may carry: its own parameters and the response overrides.
_ALLOWED_PARAMS = frozenset((
    "AWSAccessKeyId Signature Expires versionId partNumber response-content-type "
    "response-content-language response-expires response-cache-control "
    "response-content-disposition response-content-encoding").split())
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method.")


def is_presigned_v2(environ: dict[str, Any]) -> bool:
    """An S3 URL presigned the SigV2 way (any of its three parameters is enough to claim it)."""
    keys = {unquote(p.partition("=")[0]) for p in environ.get("QUERY_STRING", "").split("&")}
    return bool(keys & {"AWSAccessKeyId", "Signature", "Expires"})


def verify_presigned_v2(environ: dict[str, Any], secret_for: Callable[[str, str | None],
                                                                       str | None],
                        now: datetime | None = None) -> VerifiedScope:
    """Check a SigV2 presigned URL and its use; the scope it may reach is S3 in us-east-1."""
    raw = [p.partition("=") for p in environ.get("QUERY_STRING", "").split("&") if p]
    names = [unquote(k) for k, _, _ in raw]
    _check_use(environ, names)
    query = {unquote(k): unquote(v) for k, _, v in raw}
    token = query.get("x-amz-security-token")
    secret = secret_for(query.get("AWSAccessKeyId", ""), token)
    if secret is None:
        raise SignatureFailure("unknown_key", "The AWS Access Key Id you provided does not "
                               "exist in our records.")
    try:
        expires = int(query["Expires"])
    except (KeyError, ValueError) as err:
        raise SignatureFailure("mismatch", "presigned URL lacks a valid Expires") from err
    if (now or datetime.now(UTC)).timestamp() > expires:
        raise SignatureFailure("forbidden", "Request has expired")
    expected = base64.b64encode(hmac.new(secret.encode(), _string_to_sign(environ, raw, expires)
                                         .encode(), "sha1").digest())
    if not hmac.compare_digest(expected.decode(), query.get("Signature", "")):
        raise SignatureFailure("mismatch", _MISMATCH)
    return VerifiedScope("s3", "us-east-1", query["AWSAccessKeyId"], presigned=True)


def _check_use(environ: dict[str, Any], names: list[str]) -> None:
    """Only a GET or HEAD of one object, with nothing the signature does not cover."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method not in ("GET", "HEAD"):
        raise SignatureFailure("forbidden", f"a SigV2 presigned URL signs an S3 object "
                               f"download; {method} is not served with one (sign the request "
                               "with SigV4 instead)")
    for header in ("HTTP_AUTHORIZATION", "HTTP_X_AMZ_TARGET"):
        if environ.get(header):
            raise SignatureFailure("forbidden", "a SigV2 presigned URL cannot carry an "
                                   f"{header[5:].replace('_', '-').title()} header")
    if len(names) != len(set(names)):
        raise SignatureFailure("mismatch", "a presigned URL names a parameter twice")
    extra = sorted(set(names) - _ALLOWED_PARAMS - {"x-amz-security-token"})
    if extra:
        raise SignatureFailure("forbidden", f"parameter(s) {', '.join(extra)} are not covered "
                               "by a SigV2 presigned URL; only an object download is served")
    parts = [p for p in (environ.get("PATH_INFO") or "/").split("/") if p]
    if len(parts) < 2:
        raise SignatureFailure("forbidden", "a SigV2 presigned URL is served only for an "
                               "object (/bucket/key), not a bucket or the service")


def _string_to_sign(environ: dict[str, Any], raw: list[tuple[str, str, str]],
                    expires: int) -> str:
    subresources = sorted((unquote(k), unquote(v), bool(s)) for k, s, v in raw
                          if unquote(k) in _V2_SUBRESOURCES)
    resource = urlsplit(environ.get("RAW_URI") or "/").path + (
        "?" + "&".join(f"{k}={v}" if has else k for k, v, has in subresources)
        if subresources else "")
    token = [unquote(v) for k, _, v in raw if unquote(k) == "x-amz-security-token"]
    amz_headers = [f"x-amz-security-token:{token[0]}"] if token else []  # as the SDKs sign it
    return "\n".join((environ.get("REQUEST_METHOD", "GET"), environ.get("HTTP_CONTENT_MD5", ""),
                      environ.get("CONTENT_TYPE", ""), str(expires), *amz_headers, resource))
