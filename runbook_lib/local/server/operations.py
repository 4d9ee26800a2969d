"""Name the operation of a REST request (S3, REST-JSON services) from botocore's service model.

JSON and query requests name their operation (``X-Amz-Target``, ``Action``); REST requests
only carry a method and a path. A refusal must still say which operation the local AWS does
not emulate, so the path is matched against each operation's ``requestUri`` the way the
service routes it: the most specific match (most literal query keys, then the longest literal
path) wins, so ``DELETE /bucket?analytics`` is DeleteBucketAnalyticsConfiguration, not
DeleteBucket.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.exceptions import UnknownServiceError

_LABEL = re.compile(r"\{([^}]+)\}")


def rest_operation(service: str | None, method: str, path: str, query: str,
                   headers: dict[str, str] | None = None) -> str | None:
    """The operation of ``service`` a REST request calls, or None when none matches.

    Required query members and headers of the input shape count as literals (UploadPart is a
    PUT with ``uploadId``, CopyObject one with ``x-amz-copy-source``)."""
    present = {name.lower() for name in (headers or {})}
    if not service:
        return None
    given = {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}
    path = unquote(path or "/")
    best: tuple[tuple[int, int, bool], str] | None = None
    for name, verb, pattern, literals, required_headers, literal_len, deprecated in _routes(
            service):
        if verb != method or not pattern.fullmatch(path) or not all(
                key in given and (value is None or given[key] == value)
                for key, value in literals) or not required_headers <= present:
            continue
        rank = (len(literals) + len(required_headers), literal_len, not deprecated)
        if best is None or rank > best[0]:
            best = (rank, name)
    return best[1] if best else None


@functools.cache
def _routes(service: str) -> tuple[tuple[str, str, re.Pattern, frozenset, frozenset, int, bool],
                                   ...]:
    """Per operation: name, method, path regex, query literals (key, value or None), required
    headers, literal path length, deprecated (a newer operation on the same route wins)."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        operation = model.operation_model(name)
        literals = {(part.partition("=")[0], part.partition("=")[2] or None)
                    for part in query.split("&") if part}
        literals |= {(key, None) for key in _required(operation, "querystring")}
        required_headers = frozenset(key.lower() for key in _required(operation, "header"))
        regex = ""
        last = 0
        for match in _LABEL.finditer(path):
            regex += re.escape(path[last:match.start()])
            regex += "(.+)" if match.group(1).endswith("+") else "([^/]+)"
            last = match.end()
        regex += re.escape(path[last:])
        literal_len = len(_LABEL.sub("", path))
        # A trailing slash is optional on the wire (``/bucket`` and ``/bucket/``).
        pattern = re.compile(regex.rstrip("/") + "/?" if regex != "/" else "/")
        routes.append((name, http.get("method", "POST"), pattern, frozenset(literals),
                       required_headers, literal_len, bool(operation.deprecated)))
    return tuple(routes)


def _required(operation, location: str) -> list[str]:
    """Wire names of the input's required members sent in ``location``."""
    shape = operation.input_shape
    if shape is None:
        return []
    return [shape.members[m].serialization.get("name", m) for m in shape.required_members
            if shape.members[m].serialization.get("location") == location]
