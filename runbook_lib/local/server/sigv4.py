"""Verify AWS Signature Version 4 on incoming requests, as AWS itself does.

Both forms botocore and the AWS CLI send are checked: the ``Authorization`` header, and the
presigned query (``X-Amz-Signature`` in the URL). The rules AWS applies beyond the HMAC are
applied too, because each one closes a way to reuse a signature for something it did not sign:

- one authentication mechanism, one ``Credential`` (a second one would be read by one part and
  checked by another);
- ``host`` is signed, and ``x-amz-target`` whenever the request carries one (it picks the
  operation of a JSON service);
- ``UNSIGNED-PAYLOAD`` and the streaming (``aws-chunked``) forms only for S3; any other
  service's body is covered by its SHA-256;
- a presigned URL names its expiry (``X-Amz-Expires``, 1 to 604800 seconds, AWS's 7 days), and
  an expired one is answered AccessDenied.

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
MAX_PRESIGN_SECONDS = 604800  # 7 days: AWS's limit for X-Amz-Expires
UNSIGNED_PAYLOAD_SERVICES = frozenset({"s3"})
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HEADER_FIELDS = ("Credential", "SignedHeaders", "Signature")
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method.")


class SignatureFailure(Exception):
    """Why a request is refused; ``kind`` picks AWS's error code for the service protocol.

    kinds: ``missing`` (no signature), ``unknown_key`` (not a key id this server knows),
    ``mismatch`` (wrong signature, payload hash or malformed signature), ``expired`` (clock
    skew), ``forbidden`` (AccessDenied: an expired presigned URL, a use it does not cover).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


VERIFIED_SCOPE = "runbook.verified_scope"  # WSGI environ key the guard fills, routing reads


@dataclass(frozen=True)
class VerifiedScope:
    """What a checked signature allows: the only service and region the request may reach."""

    service: str
    region: str
    access_key_id: str
    presigned: bool = False

    def routing_authorization(self) -> str:
        """An ``Authorization`` value naming only this scope, for moto's router and the
        journal: whatever the client sent in its place (a second Credential, a presigned
        query) is never what picks the service."""
        return (f"{ALGORITHM} Credential={self.access_key_id}/20000101/{self.region}/"
                f"{self.service}/aws4_request, SignedHeaders=host, Signature=verified")


_PRESIGN_PARAMETERS = frozenset(("awsaccesskeyid", "signature", "expires", "x-amz-algorithm",
                                 "x-amz-credential", "x-amz-date", "x-amz-expires",
                                 "x-amz-signedheaders", "x-amz-signature",
                                 "x-amz-security-token"))


def without_presign_parameters(query_string: str) -> str:
    """The query without a presigned URL's signature parameters, once they were checked:
    moto then sees the plain request (it answers a session token in the query with an HTML
    error page)."""
    kept = [p for p in query_string.split("&")
            if p and unquote(p.partition("=")[0]).lower() not in _PRESIGN_PARAMETERS]
    return "&".join(kept)


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
    session_token: str | None = None


def parse_signature(environ: dict[str, Any]) -> SignedRequest:
    """Read the claimed signature from the header or the query; SignatureFailure if none."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    names = [k for k, _ in pairs]
    if header and ("X-Amz-Signature" in names or "X-Amz-Credential" in names):
        raise SignatureFailure("mismatch", "Only one auth mechanism allowed; only the "
                               "X-Amz-Algorithm query parameter or the Authorization header "
                               "should be specified")
    if header:
        return _from_header(header, environ)
    if "X-Amz-Signature" in names:
        duplicated = sorted({k for k in names if k.startswith("X-Amz-") and names.count(k) > 1})
        if duplicated:
            raise SignatureFailure("mismatch", f"presigned URL names {duplicated[0]} more "
                                   "than once; a signature has exactly one of each")
        return _from_query(dict(pairs))
    raise SignatureFailure("missing", "Request is missing Authentication Token")


def _from_header(header: str, environ: dict[str, Any]) -> SignedRequest:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureFailure("missing", f"Unsupported authorization type {algorithm!r}; "
                               f"the local AWS accepts {ALGORITHM} only")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if not eq or name not in _HEADER_FIELDS or name in fields:
            raise SignatureFailure("mismatch", f"Authorization header field {name!r} is "
                                   "unknown or repeated; a SigV4 header has exactly one "
                                   "Credential, SignedHeaders and Signature")
        fields[name] = value
    missing = [name for name in _HEADER_FIELDS if name not in fields]
    if missing:
        raise SignatureFailure("mismatch", f"Authorization header lacks {missing[0]}")
    return _signed(fields["Credential"], fields["SignedHeaders"], fields["Signature"],
                   environ.get("HTTP_X_AMZ_DATE", ""), presigned=False,
                   token=environ.get("HTTP_X_AMZ_SECURITY_TOKEN"))


def _from_query(query: dict[str, str]) -> SignedRequest:
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureFailure("missing", f"X-Amz-Algorithm must be {ALGORITHM}")
    raw_expires = query.get("X-Amz-Expires", "")
    if not raw_expires.isdigit() or not 1 <= int(raw_expires) <= MAX_PRESIGN_SECONDS:
        raise SignatureFailure("mismatch", f"X-Amz-Expires={raw_expires[:20]!r}: a presigned "
                               f"URL must name its expiry, 1 to {MAX_PRESIGN_SECONDS} seconds "
                               "(7 days). Fix: presign again with a shorter ExpiresIn.")
    try:
        return _signed(query["X-Amz-Credential"], query["X-Amz-SignedHeaders"],
                       query["X-Amz-Signature"], query["X-Amz-Date"], presigned=True,
                       expires=int(raw_expires), token=query.get("X-Amz-Security-Token"))
    except KeyError as err:
        raise SignatureFailure("mismatch", f"presigned URL lacks {err.args[0]}") from err


def _signed(credential: str, signed_headers: str, signature: str, timestamp: str,
            presigned: bool, expires: int | None = None,
            token: str | None = None) -> SignedRequest:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise SignatureFailure("mismatch", f"malformed credential scope {credential[:100]!r}")
    return SignedRequest(parts[0], parts[1], parts[2], parts[3],
                         tuple(signed_headers.split(";")), signature, timestamp, presigned,
                         expires, token or None)


def check_rules(environ: dict[str, Any], signed: SignedRequest) -> None:
    """AWS's rules beyond the HMAC: what must be signed, and which payload forms are allowed."""
    names = set(signed.signed_headers)
    if "host" not in names:
        raise SignatureFailure("mismatch", "SignedHeaders must include host: a signature that "
                               "does not cover the Host could be replayed to any endpoint")
    if environ.get("HTTP_X_AMZ_TARGET") is not None and "x-amz-target" not in names:
        raise SignatureFailure("mismatch", "SignedHeaders must include x-amz-target when the "
                               "request carries one: it names the operation")
    if signed.session_token and not signed.presigned and "x-amz-security-token" not in names:
        raise SignatureFailure("mismatch", "SignedHeaders must include x-amz-security-token "
                               "when the request carries one")
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
    unsigned_body = declared.startswith(("UNSIGNED", "STREAMING"))
    if unsigned_body and signed.service not in UNSIGNED_PAYLOAD_SERVICES:
        raise SignatureFailure("mismatch", f"x-amz-content-sha256 {declared[:40]!r} is "
                               f"accepted by S3 only; {signed.service} requests sign the "
                               "SHA-256 of their body")


def verify(environ: dict[str, Any], body: bytes, signed: SignedRequest, secret: str | None,
           now: datetime | None = None) -> VerifiedScope:
    """Raise SignatureFailure unless ``signed`` is a valid signature of this request.

    ``secret`` is what the server holds for the claimed key id (None: not a key it knows)."""
    if secret is None:
        raise SignatureFailure("unknown_key", "The security token included in the request is "
                               "invalid (not a key id this local AWS knows; export the lines "
                               "`runbook local start` prints).")
    check_rules(environ, signed)
    _check_time(signed, now or datetime.now(UTC))
    key = _signing_key(secret, signed.date, signed.region, signed.service)
    scope = f"{signed.date}/{signed.region}/{signed.service}/aws4_request"
    for payload_hash in _payload_hashes(environ, body, signed):
        canonical = canonical_request(environ, signed, payload_hash)
        to_sign = "\n".join((ALGORITHM, signed.timestamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()))
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signed.signature):
            return VerifiedScope(signed.service, signed.region, signed.access_key_id,
                                 signed.presigned)
    raise SignatureFailure("mismatch", _MISMATCH)


def _check_time(signed: SignedRequest, now: datetime) -> None:
    try:
        at = datetime.strptime(signed.timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as err:
        raise SignatureFailure("mismatch", "X-Amz-Date is missing or malformed") from err
    if signed.presigned:
        if at - now > MAX_SKEW:
            raise SignatureFailure("forbidden", "Request is not valid yet (X-Amz-Date is in "
                                   "the future)")
        if now > at + timedelta(seconds=signed.expires or 0):
            raise SignatureFailure("forbidden", "Request has expired")
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
    if signed.presigned and signed.service in UNSIGNED_PAYLOAD_SERVICES:
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
