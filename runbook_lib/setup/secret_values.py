"""Where a secret's value comes from: never a notebook parameter, never an output.

A value comes from a ``RUNBOOK_SECRET_*`` environment variable (this environment's first, then
every environment's), a hidden prompt in JupyterLab, or, on the local AWS only, a generated
placeholder; a headless run on AWS without one stops with the variables to set. The value stays
out of every repr.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from runbook_lib.core.errors import SecretValueError
from runbook_lib.core.headless import is_headless

ENV_VAR_PREFIX = "RUNBOOK_SECRET_"
PROMPT_SOURCE = "prompt"
PLACEHOLDER_SOURCE = "generated placeholder (local only)"


@dataclass(frozen=True)
class SecretValue:
    """A resolved secret value and where it came from; the value stays out of the repr."""

    name: str
    environment: str
    source: str
    value: str = field(repr=False)

    @property
    def is_placeholder(self) -> bool:
        return self.source == PLACEHOLDER_SOURCE


def secret_env_vars(name: str, environment: str) -> tuple[str, str]:
    """The two environment variables that may supply a value, most specific first."""
    env_part = _env_token(environment)
    name_part = _env_token(name)
    return (f"{ENV_VAR_PREFIX}{env_part}_{name_part}", f"{ENV_VAR_PREFIX}{name_part}")


def supplied_secret_value(name: str, environment: str) -> SecretValue | None:
    """A value the operator supplied explicitly through the environment, else ``None``."""
    for var in secret_env_vars(name, environment):
        value = os.environ.get(var)
        if value:
            return SecretValue(name, environment, f"environment variable {var}", value)
    return None


def resolve_secret_value(name: str, environment: str, session_is_local: bool,
                         prompt: Callable[[str], str] | None = None) -> SecretValue:
    """A value for a new secret: environment, hidden prompt, local placeholder, or an error.

    A placeholder is only ever generated for the local AWS, where no real credential exists;
    on AWS a headless run without a value stops with the variables to set.
    """
    supplied = supplied_secret_value(name, environment)
    if supplied is not None:
        return supplied
    if not is_headless():
        ask = prompt or getpass.getpass
        value = ask(f"value of {name} for {environment} (input hidden, empty to skip): ")
        if value:
            return SecretValue(name, environment, PROMPT_SOURCE, value)
    if session_is_local:
        return SecretValue(name, environment, PLACEHOLDER_SOURCE, secrets.token_urlsafe(24))
    specific, general = secret_env_vars(name, environment)
    raise SecretValueError(
        f"no value for {name} in {environment}: a headless run on AWS cannot prompt and never "
        f"invents one. Fix: export {specific} (this environment only) or {general} (every "
        "environment), or run the notebook in JupyterLab to be prompted."
    )


def _env_token(text: str) -> str:
    """Upper-case, with characters environment variable names cannot hold turned into _."""
    return re.sub(r"[^A-Z0-9_]", "_", text.upper())
