"""Verify AWS Signature Version 4 on incoming requests, as AWS itself does.

Both forms botocore and the AWS CLI send are checked: the ``Authorization`` header, and the
presigned query (``X-Amz-Signature`` in the URL). S3's payload forms are honoured: a hex
SHA-256 of the body (checked against the body), ``UNSIGNED-PAYLOAD``, and the streaming
(``aws-chunked``) forms, whose seed signature covers the headers.

The derived signing key depends only on (secret, date, region, service), so it is cached:
verifying a request costs two HMACs and one hash of the body.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
MAX_SKEW = timedelta(minutes=15)
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class SignatureFailure(Exception):
    """Why a request is refused; ``kind`` picks AWS's error code for the service protocol.

    kinds: ``missing`` (no signature), ``unknown_key`` (not this folder's key id),
    ``mismatch`` (wrong signature or payload hash), ``expired`` (clock skew, presign expiry).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    """What a signature claims: key id, scope, signed header names and the signature."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    presigned: bool
    expires: int | None = None


def parse_signature(environ: dict[str, Any]) -> SignedRequest:
    """Read the claimed signature from the header or the query; SignatureFailure if none."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header:
        return _from_header(header, environ)
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if "X-Amz-Signature" in query:
        return _from_query(query)
    raise SignatureFailure("missing", "Request is missing Authentication Token")


def _from_header(header: str, environ: dict[str, Any]) -> SignedRequest:
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureFailure("missing", f"Unsupported authorization type {algorithm!r}; "
                               f"the local AWS accepts {ALGORITHM} only")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    try:
        return _signed(fields["Credential"], fields["SignedHeaders"], fields["Signature"],
                       environ.get("HTTP_X_AMZ_DATE", ""), presigned=False)
    except KeyError as err:
        raise SignatureFailure("mismatch", f"Authorization header lacks {err.args[0]}") from err


def _from_query(query: dict[str, str]) -> SignedRequest:
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureFailure("missing", f"X-Amz-Algorithm must be {ALGORITHM}")
    try:
        expires = int(query.get("X-Amz-Expires", "604800"))
        return _signed(query["X-Amz-Credential"], query["X-Amz-SignedHeaders"],
                       query["X-Amz-Signature"], query["X-Amz-Date"], presigned=True,
                       expires=expires)
    except (KeyError, ValueError) as err:
        raise SignatureFailure("mismatch", f"presigned URL lacks a valid {err}") from err


def _signed(credential: str, signed_headers: str, signature: str, timestamp: str,
            presigned: bool, expires: int | None = None) -> SignedRequest:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureFailure("mismatch", f"malformed credential scope {credential!r}")
    return SignedRequest(parts[0], parts[1], parts[2], parts[3],
                         tuple(signed_headers.split(";")), signature, timestamp, presigned,
                         expires)


def verify(environ: dict[str, Any], body: bytes, signed: SignedRequest,
           access_key_id: str, secret: str, now: datetime | None = None) -> None:
    """Raise SignatureFailure unless ``signed`` is a valid signature of this request."""
    if not hmac.compare_digest(signed.access_key_id, access_key_id):
        raise SignatureFailure("unknown_key", "The security token included in the request is "
                               "invalid (not this local AWS's access key id; export the lines "
                               "`runbook local start` prints).")
    _check_time(signed, now or datetime.now(UTC))
    key = _signing_key(secret, signed.date, signed.region, signed.service)
    scope = f"{signed.date}/{signed.region}/{signed.service}/aws4_request"
    for payload_hash in _payload_hashes(environ, body, signed):
        canonical = canonical_request(environ, signed, payload_hash)
        to_sign = "\n".join((ALGORITHM, signed.timestamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()))
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signed.signature):
            return
    raise SignatureFailure("mismatch", "The request signature we calculated does not match "
                           "the signature you provided. Check your key and signing method.")


def _check_time(signed: SignedRequest, now: datetime) -> None:
    try:
        at = datetime.strptime(signed.timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as err:
        raise SignatureFailure("mismatch", "X-Amz-Date is missing or malformed") from err
    if signed.presigned:
        if now > at + timedelta(seconds=signed.expires or 0) or at - now > MAX_SKEW:
            raise SignatureFailure("expired", "Request has expired")
    elif abs(now - at) > MAX_SKEW:
        raise SignatureFailure("expired", "Signature expired: the request time is more than "
                               "15 minutes from the server's time")


@lru_cache(maxsize=64)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _payload_hashes(environ: dict[str, Any], body: bytes, signed: SignedRequest) -> list[str]:
    """The payload hash(es) the client may have signed; a declared hex hash must match."""
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared and not declared.startswith(("UNSIGNED", "STREAMING")):
        actual = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        if not hmac.compare_digest(declared.lower(), actual):
            raise SignatureFailure("mismatch", "The provided 'x-amz-content-sha256' header "
                                   "does not match what was computed.")
        return [actual]
    if declared:
        return [declared]
    if signed.presigned:
        return [UNSIGNED, hashlib.sha256(body).hexdigest()]
    return [hashlib.sha256(body).hexdigest()]


def canonical_request(environ: dict[str, Any], signed: SignedRequest, payload_hash: str) -> str:
    """SigV4's canonical request, built from the request as it came off the wire."""
    raw_path = urlsplit(environ.get("RAW_URI") or environ.get("REQUEST_URI")
                        or quote(environ.get("PATH_INFO") or "/")).path or "/"
    if signed.service != "s3":  # every service but S3 signs the encoded path encoded again
        raw_path = quote(_normalize(raw_path), safe="/~")
    headers = "".join(f"{name}:{_header(environ, name)}\n" for name in signed.signed_headers)
    return "\n".join((environ.get("REQUEST_METHOD", "GET").upper(), raw_path,
                      _canonical_query(environ.get("QUERY_STRING", "")), headers,
                      ";".join(signed.signed_headers), payload_hash))


def _normalize(path: str) -> str:
    """Remove dot segments, as botocore does before signing non-S3 paths."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    joined = "/".join(out)
    return joined if joined.startswith("/") else "/" + joined


def _canonical_query(query: str) -> str:
    pairs = [(_encode(unquote(k)), _encode(unquote(v)))
             for k, _, v in (p.partition("=") for p in query.split("&") if p)
             if unquote(k) != "X-Amz-Signature"]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _header(environ: dict[str, Any], name: str) -> str:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE", "")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH", "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return " ".join(str(value).split())


# The S3 subresources that SigV2's canonical resource includes (botocore's list).
_V2_SUBRESOURCES = frozenset((
    "accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment "
    "torrent versioning versionId versions website uploads uploadId response-content-type "
    "response-content-language response-expires response-cache-control "
    "response-content-disposition response-content-encoding delete lifecycle tagging restore "
    "storageClass notification replication analytics metrics inventory select select-type "
    "object-lock").split())


def is_presigned_v2(environ: dict[str, Any]) -> bool:
    """An S3 URL presigned the SigV2 way (botocore's default for ``generate_presigned_url``)."""
    query = environ.get("QUERY_STRING", "")
    return "AWSAccessKeyId=" in query and "Signature=" in query and "Expires=" in query


def verify_presigned_v2(environ: dict[str, Any], access_key_id: str, secret: str,
                        now: datetime | None = None) -> None:
    """Check an S3 SigV2 presigned URL: the key id, the expiry and the HMAC-SHA1 signature."""
    import base64

    raw = [p.partition("=") for p in environ.get("QUERY_STRING", "").split("&") if p]
    query = {unquote(k): unquote(v) for k, _, v in raw}
    if not hmac.compare_digest(query.get("AWSAccessKeyId", ""), access_key_id):
        raise SignatureFailure("unknown_key", "The AWS Access Key Id you provided does not "
                               "exist in our records.")
    try:
        expires = int(query["Expires"])
    except (KeyError, ValueError) as err:
        raise SignatureFailure("mismatch", "presigned URL lacks a valid Expires") from err
    if (now or datetime.now(UTC)).timestamp() > expires:
        raise SignatureFailure("expired", "Request has expired")
    subresources = sorted((unquote(k), unquote(v), bool(s)) for k, s, v in raw
                          if unquote(k) in _V2_SUBRESOURCES)
    resource = urlsplit(environ.get("RAW_URI") or "/").path + (
        "?" + "&".join(f"{k}={v}" if has else k for k, v, has in subresources)
        if subresources else "")
    to_sign = "\n".join((environ.get("REQUEST_METHOD", "GET"), environ.get("HTTP_CONTENT_MD5", ""),
                         environ.get("CONTENT_TYPE", ""), str(expires), resource))
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), "sha1").digest())
    if not hmac.compare_digest(expected.decode(), query.get("Signature", "")):
        raise SignatureFailure("mismatch", "The request signature we calculated does not match "
                               "the signature you provided. Check your key and signing method.")
