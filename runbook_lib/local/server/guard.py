"""The door of the local AWS: only its operator, from this machine, gets in.

Every request that arrives over HTTP passes here before the dispatcher sees it:

1. ``Host`` must name a loopback address (``127.0.0.1``, ``localhost``, ``[::1]``, any port),
   with at most a numeric port and nothing else, which defeats DNS rebinding (unless the
   server was started with ``--allow-remote``).
2. A request carrying an ``Origin`` (a browser) is refused unless ``--allow-origin`` names that
   origin; CORS headers are granted only to such an origin, never to ``*``.
3. AWS API requests must be SigV4-signed (or an S3 object download presigned with SigV2) with
   the state folder's own key pair, by AWS's rules (:mod:`sigv4`, :mod:`sigv2`); the verified
   scope is put in the environ and is all the dispatcher routes by; the control API
   (``/_runbook/``) takes that pair's bearer token instead (``/_runbook/health`` is open: it
   says the server is up and where its state folder is, which only its owner can read).

In-process clients (:mod:`internal`) and journal replay call the dispatcher directly and never
pass here; the header that marks in-process calls is stripped from every HTTP request, so it
cannot be used to pass as one.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import logging
import re
from collections.abc import Iterable
from typing import Any

from runbook_lib.core.local_credentials import Credentials
from runbook_lib.core.local_endpoint import CONTROL_PREFIX, HEALTH_PATH
from runbook_lib.local.server import build_credentials, sigv2, sigv4
from runbook_lib.local.server.internal import INTERNAL_HEADER
from runbook_lib.local.server.refusals import control_refusal, refusal
from runbook_lib.local.server.wire import Response, send

log = logging.getLogger("runbook.local.guard")

_INTERNAL_KEY = "HTTP_" + INTERNAL_HEADER.upper().replace("-", "_")
_PUBLIC_CONTROL = {HEALTH_PATH}
# URLs that authenticate their callers themselves, as on AWS: a CodePipeline webhook's URL
# carries an unguessable token and checks GitHub's HMAC signature (codepipeline/webhooks.py).
_SELF_AUTHENTICATED = {"/webhooks/trigger"}
_CORS_EXPOSED = "x-amz-request-id, x-amzn-requestid, x-amzn-errortype, etag, x-amz-version-id"


class GuardedApp:
    """WSGI middleware that checks Host, Origin and the signature, then calls ``app``."""

    def __init__(self, app, credentials: Credentials, allow_origins: Iterable[str] = (),
                 allow_remote: bool = False) -> None:
        self.app = app
        self.credentials = credentials
        self.allow_origins = {o.rstrip("/") for o in allow_origins}
        self.allow_remote = allow_remote

    def __call__(self, environ: dict[str, Any], start_response) -> Any:
        environ.pop(_INTERNAL_KEY, None)
        origin = environ.get("HTTP_ORIGIN")
        refused = self._refuse_early(environ, origin)
        if refused is not None:
            return _send(start_response, refused)
        if origin and environ.get("REQUEST_METHOD") == "OPTIONS":
            return _send(start_response, self._preflight(environ, origin))
        refused = self._check_credentials(environ)
        if refused is not None:
            return _send(start_response, refused, origin if origin else None)
        return self.app(environ, _cors_filtered(start_response, origin))

    def _refuse_early(self, environ: dict[str, Any], origin: str | None) -> Response | None:
        host = environ.get("HTTP_HOST", "")
        if not self.allow_remote and not is_loopback_host(host):
            log.warning("refused a request for Host %r (not a loopback name)", host[:100])
            return refusal("forbidden", f"Host {host[:100]!r} is not a loopback name; the "
                           "local AWS answers only 127.0.0.1, localhost and [::1].", environ, None)
        if origin and origin.rstrip("/") not in self.allow_origins:
            log.warning("refused a request from Origin %r", origin[:100])
            return refusal("forbidden", f"Origin {origin[:100]!r} is not allowed; start the "
                           "local AWS with --allow-origin URL to allow it.", environ, None)
        if (environ.get("PATH_INFO") or "").startswith("/moto-api"):
            return refusal("forbidden", "moto's own API is not served over HTTP", environ, None)
        return None

    def _check_credentials(self, environ: dict[str, Any]) -> Response | None:
        path = environ.get("PATH_INFO") or ""
        if path.startswith(CONTROL_PREFIX):
            return self._check_bearer(environ, path)
        if path in _SELF_AUTHENTICATED:
            return None
        body = _read_body(environ)
        service = None
        try:
            if sigv2.is_presigned_v2(environ):
                service = "s3"
                scope = sigv2.verify_presigned_v2(
                    environ, lambda key, token: self.secret_for(key, token, download=True))
            else:
                signed = sigv4.parse_signature(environ)
                service = signed.service
                download = (signed.presigned and service == "s3"
                            and environ.get("REQUEST_METHOD") in ("GET", "HEAD"))
                scope = sigv4.verify(environ, body, signed, self.secret_for(
                    signed.access_key_id, signed.session_token, download=download))
        except sigv4.SignatureFailure as err:
            log.warning("refused %s %s: %s", environ.get("REQUEST_METHOD"), path[:100], err.kind)
            return refusal(err.kind, err.message, environ, service)
        environ[sigv4.VERIFIED_SCOPE] = scope  # the dispatcher routes by this, and by nothing else
        return None

    def secret_for(self, access_key_id: str, session_token: str | None,
                   download: bool = False) -> str | None:
        """The one place that answers "which secret signs for this key id (and token)?".

        The state folder's own pair is the operator's (a session token beside it is ignored,
        as a stray AWS_SESSION_TOKEN in the operator's shell would send one). Other lookups
        (temporary credentials of a running build, say) are added here. ``download``: a
        presigned S3 GET/HEAD, which a build's credentials sign until they expire, as on AWS
        (a report build's link outlives the build; nothing else they signed does)."""
        if hmac.compare_digest(access_key_id.encode(), self.credentials.access_key_id.encode()):
            return self.credentials.secret_access_key
        if session_token and access_key_id.startswith(build_credentials.ACCESS_KEY_PREFIX):
            build = build_credentials.active(access_key_id, session_token, download=download)
            return build.secret_access_key if build is not None else None
        return None

    def _check_bearer(self, environ: dict[str, Any], path: str) -> Response | None:
        if path in _PUBLIC_CONTROL and environ.get("REQUEST_METHOD", "GET") == "GET":
            return None
        if path.startswith(build_credentials.PATH_PREFIX):  # checks the build's own token
            return None
        given = environ.get("HTTP_AUTHORIZATION", "")
        expected = "Bearer " + self.credentials.control_token()
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return control_refusal("the control API needs 'Authorization: Bearer TOKEN', the token "
                               "derived from this state folder's credentials (runbook_lib.local."
                               "core.local_credentials.Credentials.control_token)", 401)

    def _preflight(self, environ: dict[str, Any], origin: str) -> Response:
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                   ("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE, HEAD, PATCH"),
                   ("Access-Control-Allow-Headers",
                    environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "*")),
                   ("Access-Control-Expose-Headers", _CORS_EXPOSED),
                   ("Access-Control-Max-Age", "600"), ("Content-Length", "0")]
        return Response(200, headers, b"")


_HOST_RE = re.compile(r"^(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9.-]+))"
                      r"(?::(?P<port>[0-9]{1,5}))?$")


def is_loopback_host(host: str) -> bool:
    """Whether a ``Host`` header is a loopback name or address with an optional numeric port.

    ``localhost``, ``127.x.y.z`` or ``[::1]``, then at most ``:PORT``, and nothing else: no
    ``localhost:evil``, no ``bucket.localhost`` (S3 would read a bucket name out of it)."""
    match = _HOST_RE.match(host.strip().lower())
    if not match or (match.group("port") and int(match.group("port")) > 65535):
        return False
    name = match.group("v6") or match.group("name")
    if name == "localhost":
        return True
    if not match.group("v6") and not re.fullmatch(r"[0-9.]+", name):
        return False
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the body once and put it back, so the dispatcher reads it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _cors_filtered(start_response, origin: str | None):
    """Drop whatever CORS grant the inner app adds; grant only an allowed origin."""

    def wrapped(status: str, headers: list, exc_info=None):
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        if origin:
            kept += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                     ("Access-Control-Expose-Headers", _CORS_EXPOSED)]
        return start_response(status, kept, exc_info)

    return wrapped


def _send(start_response, response: Response, origin: str | None = None) -> list[bytes]:
    """Answer with the guard's own response; an allowed ``origin`` may read it."""
    headers = list(response.headers)
    if origin:
        headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    return send(start_response, Response(response.status, headers, response.body))
