"""The AWS CLI's shipped example outputs, as responses botocore's Stubber can serve.

The examples are read at test time from the installed ``awscli`` package
(``awscli/examples/<service>/<command>.rst``), so they are AWS's own writing, not ours. Some are
cut short with ``. . .``; :func:`example_output` closes what the cut left open. Values are then
shaped to the operation's output model (epoch numbers become datetimes, members the model no
longer has are dropped), which is what botocore's parser would hand the library.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import awscli
from botocore import xform_name
from botocore.stub import Stubber

EXAMPLES = Path(awscli.__file__).parent / "examples"
_CUT = re.compile(r"^\s*(\.\s*){3,}$")


def example_output(service: str, command: str, which: int = 0) -> dict:
    """The ``which``-th JSON output block of ``aws <service> <command>``'s example page."""
    text = (EXAMPLES / service / f"{command}.rst").read_text(encoding="utf-8")
    blocks = _output_blocks(text)
    if which >= len(blocks):
        raise LookupError(f"{service} {command}: {len(blocks)} output blocks, wanted #{which}")
    return json.loads(_close(blocks[which]))


def _output_blocks(text: str) -> list[str]:
    blocks, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("Output::"):
            continue
        body = []
        for following in lines[i + 1:]:
            if following.strip() and not following[:1].isspace():
                break
            body.append(following)
        block = "\n".join(x for x in body if not _CUT.match(x)).strip()
        if block.startswith("{"):
            blocks.append(block)
    return blocks


def _close(text: str) -> str:
    """JSON cut short: drop the dangling comma and close the open brackets."""
    stack, in_string, escaped = [], False, False
    for char in text:
        if in_string:
            escaped = char == "\\" and not escaped
            in_string = not (char == '"' and not escaped)
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}":
            stack.pop()
    return text.rstrip().rstrip(",") + "".join(reversed(stack))


def shaped(client, operation: str, data: dict) -> dict:
    """``data`` fitted to ``operation``'s output shape, as botocore's parser returns it."""
    shape = client.meta.service_model.operation_model(operation).output_shape
    return _fit(shape, data)


def _fit(shape, value):
    kind = shape.type_name
    if kind == "structure":  # unknown members dropped, and lists shorter than the model allows
        return {k: _fit(shape.members[k], v) for k, v in value.items() if k in shape.members
                and not (isinstance(v, list) and len(v) < shape.members[k].metadata.get("min", 0))}
    if kind == "list":
        return [_fit(shape.member, v) for v in value]
    if kind == "map":
        return {k: _fit(shape.value, v) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value  # some examples write milliseconds
        return datetime.fromtimestamp(seconds, UTC)
    return value


class ExampleResponder:
    """Serve stubbed responses by operation, in whatever order the library calls.

    botocore's Stubber serves a queue in call order; this queues the right response just before
    each call (on ``provide-client-params``), so a test names what AWS answers to each operation
    and the library is free in how many calls it makes and in which order. A call to an
    operation with no answer still fails, as Stubber's UnStubbedResponseError.
    """

    def __init__(self, client, answers: dict) -> None:
        self.client = client
        self.answers = answers  # operation -> response dict, or callable(params) -> dict
        self.calls: list[tuple[str, dict]] = []
        self.stubber = Stubber(client)
        client.meta.events.register("provide-client-params.*.*", self._queue)

    def _queue(self, params, model, **_kwargs) -> None:
        self.calls.append((model.name, dict(params)))
        answer = self.answers.get(model.name)
        if answer is None:
            return
        body = answer(params) if callable(answer) else answer
        self.stubber.add_response(xform_name(model.name), shaped(self.client, model.name, body))

    def __enter__(self) -> ExampleResponder:
        self.stubber.activate()
        return self

    def __exit__(self, *exc) -> None:
        self.stubber.deactivate()
        self.client.meta.events.unregister("provide-client-params.*.*", self._queue)


LIST_ORDERS = ("newest first", "oldest first", "shuffled")  # what PagedListing can play


class PagedListing:
    """A List operation's answer over ``items`` (which a test may change between calls), in
    ``order`` ("newest first", "oldest first" or "shuffled", by ``time_key``; AWS promises
    none), at most ``page_cap`` a page, filtered by ``pipelineExecutionId`` when asked, the
    next token an offset. ``calls`` counts the answers given."""

    def __init__(self, items: list[dict], key: str, order: str, page_cap: int,
                 time_key: str = "startTime", seed: int = 19) -> None:
        self.items, self.key, self.order, self.page_cap = items, key, order, page_cap
        self.time_key, self.seed = time_key, seed
        self.calls = 0

    def arranged(self) -> list[dict]:
        newest = sorted(self.items, key=lambda item: item[self.time_key], reverse=True)
        if self.order == "oldest first":
            return newest[::-1]
        if self.order == "shuffled":
            random.Random(self.seed).shuffle(newest)
        return newest

    def __call__(self, params: dict) -> dict:
        self.calls += 1
        wanted = (params.get("filter") or {}).get("pipelineExecutionId")
        chosen = [i for i in self.arranged()
                  if not wanted or i.get("pipelineExecutionId") == wanted]
        start = int(params.get("nextToken") or 0)
        size = min(params.get("maxResults") or 100, self.page_cap)
        page = {self.key: chosen[start:start + size]}
        if start + size < len(chosen):
            page["nextToken"] = str(start + size)
        return page
