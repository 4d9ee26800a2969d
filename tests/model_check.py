"""Every request the library sends in the tests is checked against botocore's model.

botocore validates types, required members and minimum lengths before sending, but not
``pattern``, ``max`` or ``enum``: an empty or malformed id would only fail on real AWS. This
plugin checks them all on every client an :class:`AwsSession` creates (``before-parameter-build``)
and fails the test in which the library sent the request. Patterns are matched whole, as AWS's
services do. Requests a test sends itself, straight from a client, are left alone: tests of the
local AWS send malformed requests on purpose, to check its error codes.

Per test, ``@pytest.mark.model_check("lengths")`` checks lengths, ranges and enums but not
patterns (AWS's own example ids do not match them), ``"off"`` nothing.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import pytest

import runbook_lib
from runbook_lib.core import session as session_module

_LIBRARY = str(Path(runbook_lib.__file__).parent) + "/"

MODES = ("full", "lengths", "off")
_state = {"mode": "full", "violations": []}


class ModelViolation(AssertionError):
    """A request the service's model forbids."""


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "model_check(mode): how requests are checked against "
                            "the botocore model: full (default), lengths, off")
    if _attach not in session_module.CLIENT_HOOKS:
        session_module.CLIENT_HOOKS.append(_attach)


@pytest.fixture(autouse=True)
def _model_checked_requests(request):
    marker = request.node.get_closest_marker("model_check")
    mode = marker.args[0] if marker and marker.args else "full"
    assert mode in MODES, f"model_check mode {mode!r}: use one of {MODES}"
    _state.update(mode=mode, violations=[])
    yield
    found, _state["violations"] = _state["violations"], []
    _state["mode"] = "full"
    assert not found, "requests the botocore model forbids:\n" + "\n".join(found)


def _attach(client) -> None:
    client.meta.events.register("before-parameter-build.*.*", _check_request)


def _check_request(params, model, **_kwargs) -> None:
    if _state["mode"] == "off":
        return
    problems = check_params(model.input_shape, params, model.name,
                            patterns=_state["mode"] == "full")
    if problems and _sent_by_the_library():
        _state["violations"].extend(problems)
        raise ModelViolation("; ".join(problems))


def _sent_by_the_library() -> bool:
    """Whether a runbook_lib function is on the stack of this request."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_LIBRARY):
            return True
        frame = frame.f_back
    return False


def check_params(shape, value, path: str, patterns: bool = True) -> list[str]:
    """What in ``value`` the ``shape`` forbids: lengths, ranges, enums and (optionally)
    patterns; each problem names the parameter path, the value and the rule."""
    if shape is None or value is None:
        return []
    kind = shape.type_name
    meta = shape.metadata
    problems: list[str] = []
    if kind == "structure" and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                problems += check_params(shape.members[name], member, f"{path}.{name}",
                                         patterns)
    elif kind == "list" and isinstance(value, list | tuple):
        problems += _size(path, value, meta, "items")
        for i, item in enumerate(value):
            problems += check_params(shape.member, item, f"{path}[{i}]", patterns)
    elif kind == "map" and isinstance(value, dict):
        problems += _size(path, value, meta, "entries")
        for key, item in value.items():
            problems += check_params(shape.key, key, f"{path}<key>", patterns)
            problems += check_params(shape.value, item, f"{path}[{key!r}]", patterns)
    elif kind == "string" and isinstance(value, str):
        problems += _size(path, value, meta, "characters")
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}={value!r}: not one of {shape.enum}")
        regex = _compiled(meta.get("pattern")) if patterns else None
        if regex is not None and not regex.fullmatch(value):
            problems.append(f"{path}={value!r}: does not match the pattern {meta['pattern']}")
    elif kind in ("integer", "long") and isinstance(value, int):
        if "min" in meta and value < meta["min"] or "max" in meta and value > meta["max"]:
            problems.append(f"{path}={value}: outside {meta.get('min')}..{meta.get('max')}")
    return problems


def _size(path: str, value, meta: dict, unit: str) -> list[str]:
    if "min" in meta and len(value) < meta["min"]:
        return [f"{path}={value!r}: fewer than {meta['min']} {unit}"]
    if "max" in meta and len(value) > meta["max"]:
        return [f"{path}: more than {meta['max']} {unit} ({len(value)})"]
    return []


@functools.cache
def _compiled(pattern: str | None) -> re.Pattern | None:
    """The model's (Java) pattern in Python; None when absent or Python cannot read it."""
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


class expected_violation:  # noqa: N801 (used as a context manager, like pytest.raises)
    """For tests of this checker: the request inside must be refused, and that refusal does
    not fail the test."""

    def __enter__(self):
        self._raises = pytest.raises(ModelViolation)
        return self._raises.__enter__()

    def __exit__(self, *exc):
        handled = self._raises.__exit__(*exc)
        _state["violations"] = []
        return handled
