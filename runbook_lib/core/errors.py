"""One exception hierarchy for the suite; every message says what to do next."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import ClientError


class RunbookError(Exception):
    """Base class of every error the suite raises on purpose."""


class ParameterError(RunbookError, ValueError):
    """A parameter breaks a rule; raised before any AWS call."""

    def __init__(self, field: str, value: object, rule: str, example: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        self.example = example
        shown = _redact(field, value)
        super().__init__(
            f"parameter {field}={shown!r} is invalid: {rule}. "
            f"Fix: pass a valid value, for example {field}={example!r}."
        )


class InputError(ParameterError):
    """A command-line input (option, file, path) that cannot be used; says what and the fix."""

    def __init__(self, where: str, shown: str, problem: str, fix: str) -> None:
        super().__init__(where, shown, problem, fix)
        self.message = f"{where}: {problem}. Fix: {fix}."
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


class SecretParameterError(ParameterError):
    """A secret was given as a parameter; refused, and never echoed, stored or printed."""

    def __init__(self, field: str, shown: str, reason: str, fix: str) -> None:
        self.field = field
        self.value = shown  # the redacted form only: the refused value is not kept
        self.rule = f"looks like a secret: {reason}"
        self.example = ""
        RunbookError.__init__(
            self,
            f"parameter {field} ({shown}) was refused: it looks like a secret ({reason}). "
            "Parameters are written into every executed notebook and its HTML, so secrets "
            f"never travel as parameters, and this one was written nowhere. Fix: {fix}.",
        )


class UnknownParameterError(ParameterError):
    """A parameter name the suite does not know; names the closest known one."""

    def __init__(self, name: str, closest: str | None, known: list[str]) -> None:
        self.field = name
        self.value = name
        self.rule = "is not a parameter of the suite"
        self.example = closest or ""
        hint = (f"did you mean {closest}?" if closest
                else f"the known parameters are {', '.join(known)}.")
        RunbookError.__init__(
            self,
            f"parameter {name!r} is not a parameter of the suite, so no notebook would read it "
            f"and it was refused. Fix: check the spelling; {hint}",
        )


class CredentialsError(RunbookError):
    """No usable AWS credentials for the chosen target."""


class NotOwnedError(RunbookError):
    """A resource exists but lacks the suite's ownership tags, so it is left alone."""

    def __init__(self, resource: str, tag_key: str, expected: str) -> None:
        self.resource = resource
        super().__init__(
            f"{resource} exists but is not managed by this suite (tag {tag_key}={expected!r} "
            "is missing), so it was not changed. Fix: choose another app_name, or delete or "
            "tag the resource yourself if you are sure it is safe."
        )


class StepError(RunbookError):
    """An AWS call in a setup or operate step failed; wraps the cause with short context."""


class SecretValueError(RunbookError):
    """A secret's value is needed but no source (environment variable, prompt) supplied one."""


class LocalAwsError(RunbookError):
    """The embedded local AWS could not be started, found or stopped."""


class BuildspecError(RunbookError, ValueError):
    """A buildspec breaks the version 0.2 schema; names the file, the line and the rule."""

    def __init__(self, source: str, line: int | None, rule: str) -> None:
        self.source = source
        self.line = line
        self.rule = rule
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {rule}")


class NotebookRunError(RunbookError):
    """A notebook failed while running headless; the executed copy was kept."""


def _redact(field: str, value: object) -> object:
    """Never echo a value whose field name says it is secret."""
    lowered = field.lower()
    if any(word in lowered for word in ("secret", "secure", "password", "token", "key_value")):
        return "****"
    return value


# AWS's codes for "your input breaks a rule": the only errors a known fix (a hint) applies to.
INPUT_ERROR_CODES = ("InvalidInputException", "ValidationException")


@contextlib.contextmanager
def aws_step(what: str, hint: str = "") -> Iterator[None]:
    """Turn an AWS error inside the block into a :class:`StepError` that says what was being
    done (``"create project shop-build"``), chained to the cause.

    ``hint`` is added as the fix only when AWS rejected the input (:data:`INPUT_ERROR_CODES`):
    on a throttle or a missing permission the hint would point the operator the wrong way.
    """
    try:
        yield
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        fix = f" Fix: {hint}." if hint and code in INPUT_ERROR_CODES else ""
        raise StepError(f"{what}: {err}.{fix}") from err
