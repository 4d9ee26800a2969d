"""The one pager of the local services' List operations, as moto's ``@paginate`` is for moto.

Each operation is described once by a :class:`PageRule` (what the items are called, the page
size, the ``maxResults`` range, the error codes of its service), and every handler calls
:func:`page` with its items already in their stable order. Then all of them behave as AWS does:

- ``maxResults`` is honoured, and outside its documented range answered with the service's
  validation error (botocore checks only the minimum on the client side);
- ``nextToken`` is opaque. It names the operation and the request's other parameters, so a
  token from another List call, or one edited or made up, is refused with the service's error
  (CodeBuild's ``InvalidInputException``, CodePipeline's ``InvalidNextTokenException``) instead
  of silently restarting at the first page;
- a token also names the last item handed out and the first one still to come, so the next
  page resumes between them even when items were added or removed in between (new builds
  come first in ListBuilds).

The Batch* reads and deletes that take a list of names share two rules here too:
:func:`batch_members` (1 to 100 of them, else ``InvalidInputException``) and
:func:`found_and_missing` (what is known, and the names that are not, in the caller's order).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook_lib.local.server.wire import AwsError

# The keys that only steer paging: they are left out of what a token is bound to.
_PAGING_KEYS = frozenset({"nextToken", "NextToken", "maxResults", "MaxResults"})


@dataclass(frozen=True)
class PageStyle:
    """How one service words paging errors."""

    token_error: str
    token_message: str
    limit_error: str


CODEBUILD = PageStyle("InvalidInputException", "Invalid nextToken", "InvalidInputException")
CODEPIPELINE = PageStyle("InvalidNextTokenException", "The next token is not valid",
                         "ValidationException")


@dataclass(frozen=True)
class PageRule:
    """One List operation's paging: its items' key in the answer, its page size and limit.

    ``max_results`` is None for an operation without a ``maxResults`` parameter (ListBuilds,
    ListProjects: always ``page_size`` items). ``unique`` names what identifies an item (a
    key of a dict item, or None for items that are ids themselves)."""

    operation: str
    items_key: str
    style: PageStyle
    page_size: int = 100
    max_results: int | None = 100
    unique: str | None = None
    token_key: str = "nextToken"
    limit_key: str = "maxResults"


def page(items: list[Any], body: dict[str, Any], rule: PageRule) -> dict[str, Any]:
    """The page of ``items`` (in their stable order) that ``body`` asks for, with the token of
    the next page when there is one."""
    size = _size(body, rule)
    scope = _scope(body, rule)
    token = body.get(rule.token_key)
    start = 0 if token is None else _resume(items, token, scope, rule)
    chosen = items[start:start + size]
    answer: dict[str, Any] = {rule.items_key: chosen}
    if start + size < len(items):
        answer[rule.token_key] = _token(scope, start + size, _identity(chosen[-1], rule),
                                        _identity(items[start + size], rule))
    return answer


def _size(body: dict[str, Any], rule: PageRule) -> int:
    if rule.max_results is None:
        return rule.page_size
    wanted = body.get(rule.limit_key)
    if wanted is None:
        return min(rule.page_size, rule.max_results)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not (
            1 <= wanted <= rule.max_results):
        raise AwsError(rule.style.limit_error,
                       f"{rule.limit_key} {wanted!r} is invalid: it must be a whole number "
                       f"from 1 to {rule.max_results}")
    return wanted


def _scope(body: dict[str, Any], rule: PageRule) -> str:
    """What a token is bound to: the operation and every other parameter of the request."""
    rest = {k: v for k, v in body.items() if k not in _PAGING_KEYS}
    text = rule.operation + json.dumps(rest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _identity(item: Any, rule: PageRule) -> str:
    """A short digest of what identifies ``item`` (the whole item when it lacks the key)."""
    value = item.get(rule.unique, item) if rule.unique and isinstance(item, dict) else item
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _token(scope: str, offset: int, last: str, following: str) -> str:
    raw = json.dumps({"s": scope, "o": offset, "l": last, "n": following},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _resume(items: list[Any], token: Any, scope: str, rule: PageRule) -> int:
    """Where the page after ``token`` starts: at the item it names as next, else after the
    one it names as last, wherever they now are; else at the same place."""
    try:
        padded = str(token) + "=" * (-len(str(token)) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset, last, following = int(data["o"]), str(data["l"]), str(data["n"])
        valid = data["s"] == scope and offset >= 1
    except (ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise AwsError(rule.style.token_error, rule.style.token_message)
    if offset < len(items) and _identity(items[offset], rule) == following:
        return offset
    where = {_identity(item, rule): i for i, item in enumerate(items)}
    if following in where:
        return where[following]
    return where[last] + 1 if last in where else min(offset, len(items))


def batch_members(body: dict[str, Any], key: str, what: str, most: int = 100) -> list[Any]:
    """The list ``key`` of a Batch* request: 1 to ``most`` ``what`` (CodeBuild's limit)."""
    members = body.get(key) or []
    if not members or len(members) > most:
        raise AwsError("InvalidInputException", f"{key} must hold 1 to {most} {what}")
    return members


def found_and_missing(keys: list[Any], get: Callable[[Any], Any]) -> tuple[list[Any], list[Any]]:
    """(what ``get`` finds for the keys, the keys it finds nothing for), in the keys' order."""
    found, missing = [], []
    for key in keys:
        item = get(key)
        (found.append(item) if item else missing.append(key))
    return found, missing
