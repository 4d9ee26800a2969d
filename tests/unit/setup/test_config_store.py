"""Secret values without a server: hidden in reprs, where a value comes from, the variables a
headless run names. Config in SSM and secrets in Secrets Manager on the local AWS:
tests/integration/setup/test_config_store.py."""

from __future__ import annotations

import pytest

from runbook_lib.core.errors import SecretValueError
from runbook_lib.core.headless import HEADLESS_ENV
from runbook_lib.setup.secret_values import (
    PLACEHOLDER_SOURCE,
    SecretValue,
    resolve_secret_value,
    secret_env_vars,
)

SUPPLIED = "s3cr3t-Supplied-Value-9f8e7d"


# Every test starts headless, with no RUNBOOK_SECRET_* from the developer's shell.
pytestmark = pytest.mark.usefixtures("headless_without_secret_variables")


def test_secret_value_repr_hides_the_value():
    value = SecretValue("API_KEY", "staging", "prompt", SUPPLIED)

    assert SUPPLIED not in repr(value)
    assert "prompt" in repr(value)


# -- resolving values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "environment, variables, headless, local, prompt_answer, want_source, want_value",
    [
        ("staging", {"RUNBOOK_SECRET_STAGING_API_KEY": "a", "RUNBOOK_SECRET_API_KEY": "b"},
         True, False, None, "environment variable RUNBOOK_SECRET_STAGING_API_KEY", "a"),
        ("staging", {"RUNBOOK_SECRET_API_KEY": "b"}, True, False, None,
         "environment variable RUNBOOK_SECRET_API_KEY", "b"),
        ("pre-prod", {"RUNBOOK_SECRET_PRE_PROD_API_KEY": "c"}, True, False, None,
         "environment variable RUNBOOK_SECRET_PRE_PROD_API_KEY", "c"),
        ("staging", {}, False, False, "typed", "prompt", "typed"),
        ("staging", {}, False, True, "", PLACEHOLDER_SOURCE, None),
        ("staging", {}, True, True, None, PLACEHOLDER_SOURCE, None),
    ],
    ids=["environment-specific variable wins", "general variable", "hyphenated environment",
         "prompt in JupyterLab", "empty prompt on local", "headless on local"],
)
def test_resolve_secret_value_sources(monkeypatch, environment, variables, headless, local,
                                      prompt_answer, want_source, want_value):
    for var, value in variables.items():
        monkeypatch.setenv(var, value)
    if not headless:
        monkeypatch.delenv(HEADLESS_ENV)
    asked: list[str] = []

    def prompt(text):
        asked.append(text)
        return prompt_answer

    resolved = resolve_secret_value("API_KEY", environment, session_is_local=local,
                                    prompt=prompt)

    assert resolved.source == want_source
    if want_value is not None:
        assert resolved.value == want_value
    else:
        assert len(resolved.value) >= 24 and resolved.is_placeholder
    assert bool(asked) == (not headless)


def test_headless_on_aws_without_a_value_names_the_variables():
    with pytest.raises(SecretValueError) as err:
        resolve_secret_value("DB_URL", "production", session_is_local=False,
                             prompt=lambda _text: pytest.fail("must not prompt headless"))

    message = str(err.value)
    for var in secret_env_vars("DB_URL", "production"):
        assert var in message
    assert "RUNBOOK_SECRET_PRODUCTION_DB_URL" in message


def test_secret_env_vars_are_valid_variable_names():
    assert secret_env_vars("db.url-2", "pre-prod") == ("RUNBOOK_SECRET_PRE_PROD_DB_URL_2",
                                                      "RUNBOOK_SECRET_DB_URL_2")

