"""Config in SSM and secrets in Secrets Manager on the local AWS; values never shown."""

from __future__ import annotations

import logging

import pytest
from botocore.awsrequest import AWSResponse
from helpers import assert_converged

from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError, StepError
from runbook_lib.setup import config_store
from runbook_lib.setup.config_store import HIDDEN
from runbook_lib.setup.secret_values import (
    PLACEHOLDER_SOURCE,
    resolve_secret_value,
)
from runbook_lib.views import nb

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
SUPPLIED = "s3cr3t-Supplied-Value-9f8e7d"
OTHER = "an0ther-Supplied-Value-1a2b3c"


# Every test starts headless, with no RUNBOOK_SECRET_* from the developer's shell.
pytestmark = pytest.mark.usefixtures("headless_without_secret_variables")


def _apply(session, params, names):
    return config_store.plan_config(session, params, names).apply()


def _by_resource(plan):
    return {c.resource: c for c in plan.changes}


def _secret_value(session, name):
    return session.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def _parameter(session, name):
    return session.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]


# -- create and converge ------------------------------------------------------------------------


def test_create_everything_for_both_environments(session, params, names):
    plan = config_store.plan_config(session, params, names)

    assert [c.action for c in plan.changes] == ["create"] * 8
    plan.apply()

    ssm = session.client("ssm")
    for env in names.environments:
        path = names.ssm_path(env)
        assert _parameter(session, path + "LOG_LEVEL")["Value"] == "info"
        assert _parameter(session, path + "FEATURE_FLAGS")["Type"] == "String"
        assert _parameter(session, path + "DB_URL")["Type"] == "SecureString"
        for name in (path + "LOG_LEVEL", path + "DB_URL"):
            tag_list = ssm.list_tags_for_resource(ResourceType="Parameter",
                                                  ResourceId=name)["TagList"]
            assert tags.is_owned(tags.from_tag_list(tag_list), params.app_name)
        described = session.client("secretsmanager").describe_secret(
            SecretId=names.secret_name(env, "API_KEY"))
        assert tags.is_owned(tags.from_tag_list(described["Tags"]), params.app_name)


def test_local_headless_run_uses_labelled_placeholders(session, params, names):
    plan = config_store.plan_config(session, params, names)

    secret_change = _by_resource(plan)[f"secret {names.secret_name('staging', 'API_KEY')}"]
    assert f"value source: {PLACEHOLDER_SOURCE}" in secret_change.diff
    assert f"value: {HIDDEN}" in secret_change.diff


def test_converged_rerun_keeps_placeholders_and_makes_no_mutating_call(session, params, names):
    _apply(session, params, names)
    secret_name = names.secret_name("staging", "API_KEY")
    before = _secret_value(session, secret_name)
    assert_converged(session, lambda: _apply(session, params, names))
    assert _secret_value(session, secret_name) == before


def test_supplied_value_equal_to_stored_one_changes_nothing(session, params, names,
                                                           monkeypatch):
    monkeypatch.setenv("RUNBOOK_SECRET_API_KEY", SUPPLIED)
    monkeypatch.setenv("RUNBOOK_SECRET_DB_URL", OTHER)
    _apply(session, params, names)
    assert_converged(session, lambda: _apply(session, params, names))


@pytest.mark.parametrize(
    "key, resource_of, read_value",
    [
        ("API_KEY", lambda names: f"secret {names.secret_name('staging', 'API_KEY')}",
         lambda session, names: _secret_value(session, names.secret_name("staging", "API_KEY"))),
        ("DB_URL", lambda names: f"ssm parameter {names.ssm_path('staging')}DB_URL",
         lambda session, names: _parameter(session, names.ssm_path("staging") + "DB_URL")[
             "Value"]),
    ],
    ids=["secret", "SecureString"],
)
def test_changed_supplied_value_updates_only_that_item(session, params, names, monkeypatch,
                                                       key, resource_of, read_value):
    _apply(session, params, names)
    monkeypatch.setenv(f"RUNBOOK_SECRET_STAGING_{key}", SUPPLIED)

    plan = config_store.plan_config(session, params, names)

    assert [c.resource for c in plan.pending] == [resource_of(names)]
    assert plan.pending[0].diff == [
        "value: (hidden) -> (hidden, changed)",
        f"value source: environment variable RUNBOOK_SECRET_STAGING_{key}",
    ]
    plan.apply()
    assert read_value(session, names) == SUPPLIED
    assert_converged(session, lambda: _apply(session, params, names))


def test_string_drift_by_hand_is_reverted_with_readable_diff(session, params, names):
    _apply(session, params, names)
    name = names.ssm_path("production") + "LOG_LEVEL"
    session.client("ssm").put_parameter(Name=name, Value="debug", Type="String",
                                        Overwrite=True)

    plan = config_store.plan_config(session, params, names)

    assert [c.resource for c in plan.pending] == [f"ssm parameter {name}"]
    assert plan.pending[0].diff == ["value: debug -> info"]
    plan.apply()
    assert _parameter(session, name)["Value"] == "info"


def test_new_config_key_is_added_alone(session, params, names):
    _apply(session, params, names)
    more = params.replace(config_parameters=(*params.config_parameters, "REGION_HINT=eu"))

    plan = config_store.plan_config(session, more, names)

    assert sorted(c.resource for c in plan.pending) == sorted(
        f"ssm parameter {names.ssm_path(env)}REGION_HINT" for env in names.environments)


# -- ownership ----------------------------------------------------------------------------------


def _untagged_string(session, names):
    name = names.ssm_path("staging") + "LOG_LEVEL"
    session.client("ssm").put_parameter(Name=name, Value="mine", Type="String")
    return lambda: _parameter(session, name)["Value"], "mine"


def _untagged_secure(session, names):
    name = names.ssm_path("staging") + "DB_URL"
    session.client("ssm").put_parameter(Name=name, Value="mine", Type="SecureString")
    return lambda: _parameter(session, name)["Value"], "mine"


def _untagged_secret(session, names):
    name = names.secret_name("production", "API_KEY")
    session.client("secretsmanager").create_secret(Name=name, SecretString="mine")
    return lambda: _secret_value(session, name), "mine"


@pytest.mark.parametrize("make_look_alike", [_untagged_string, _untagged_secure,
                                             _untagged_secret],
                         ids=["String parameter", "SecureString parameter", "secret"])
def test_untagged_look_alike_is_refused_and_untouched(session, params, names, monkeypatch,
                                                      make_look_alike):
    read_back, original = make_look_alike(session, names)
    monkeypatch.setenv("RUNBOOK_SECRET_API_KEY", SUPPLIED)
    monkeypatch.setenv("RUNBOOK_SECRET_DB_URL", SUPPLIED)
    session.recorder.reset()

    with pytest.raises(NotOwnedError):
        config_store.plan_config(session, params, names)

    assert session.recorder.mutating_count == 0
    assert read_back() == original


def test_secret_scheduled_for_deletion_names_the_fix(session, params, names):
    _apply(session, params, names)
    name = names.secret_name("staging", "API_KEY")
    session.client("secretsmanager").delete_secret(SecretId=name)

    with pytest.raises(StepError) as err:
        config_store.plan_config(session, params, names)

    assert "restore-secret" in str(err.value)


# -- KMS ----------------------------------------------------------------------------------------


def test_kms_variant_creates_with_the_key(session, params, names):
    with_kms = params.replace(kms_key_arn=KMS_KEY)

    _apply(session, with_kms, names)

    secure = names.ssm_path("staging") + "DB_URL"
    described = session.client("ssm").describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [secure]}])["Parameters"][0]
    assert described["KeyId"] == KMS_KEY
    secret = session.client("secretsmanager").describe_secret(
        SecretId=names.secret_name("staging", "API_KEY"))
    assert secret["KmsKeyId"] == KMS_KEY
    assert_converged(session, lambda: _apply(session, with_kms, names))


def test_switching_to_a_kms_key_keeps_values(session, params, names):
    _apply(session, params, names)
    secure = names.ssm_path("staging") + "DB_URL"
    secret = names.secret_name("staging", "API_KEY")
    before = (_parameter(session, secure)["Value"], _secret_value(session, secret))

    plan = config_store.plan_config(session, params.replace(kms_key_arn=KMS_KEY), names)

    assert len(plan.pending) == 4  # DB_URL and API_KEY, in both environments
    diff = _by_resource(plan)[f"ssm parameter {secure}"].diff
    assert diff == [f"kms key: alias/aws/ssm -> {KMS_KEY}", "value: (hidden) (kept, re-encrypted)"]
    plan.apply()
    assert (_parameter(session, secure)["Value"], _secret_value(session, secret)) == before


# -- describe -----------------------------------------------------------------------------------


def test_describe_shows_string_values_and_hides_the_rest(session, params, names, monkeypatch):
    monkeypatch.setenv("RUNBOOK_SECRET_DB_URL", SUPPLIED)
    _apply(session, params, names)

    entries = config_store.describe_config(session, names)

    shown = {(e.environment, e.name.rsplit("/", 1)[-1]): (e.kind, e.shown_value)
             for e in entries}
    assert shown[("staging", "LOG_LEVEL")] == ("String", "info")
    assert shown[("staging", "DB_URL")] == ("SecureString", HIDDEN)
    assert shown[("production", "API_KEY")] == ("secret", HIDDEN)
    assert all(len(e.as_row()) == len(config_store.CONFIG_HEADERS) for e in entries)
    assert all(e.version == "1" for e in entries)


# -- secret values never appear -----------------------------------------------------------------


def _echoing_error(value):
    """A failure whose AWS message echoes the request, as some validation errors do."""

    def handler(**_kwargs):
        http = AWSResponse("https://local", 400, {}, None)
        body = {"Error": {"Code": "ValidationException",
                          "Message": f"value {value} failed to satisfy constraint"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}
        return http, body

    return handler


def test_secret_values_never_reach_outputs_reprs_logs_or_errors(session, params, names,
                                                                monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG, logger="runbook")
    monkeypatch.setenv("RUNBOOK_SECRET_API_KEY", SUPPLIED)
    monkeypatch.setenv("RUNBOOK_SECRET_DB_URL", OTHER)
    seen: list[str] = []

    plan = config_store.plan_config(session, params, names)
    nb.show_plan(plan, apply=True)
    seen += [repr(plan), str(plan), *(repr(c) for c in plan.changes)]
    entries = config_store.describe_config(session, names)
    nb.table([e.as_row() for e in entries], config_store.CONFIG_HEADERS)
    seen += [repr(e) for e in entries]
    resolved = resolve_secret_value("API_KEY", "staging", session_is_local=True)
    seen += [repr(resolved), str(resolved)]

    monkeypatch.setenv("RUNBOOK_SECRET_STAGING_API_KEY", SUPPLIED + "-new")
    sm = session.client("secretsmanager")
    sm.meta.events.register("before-call.secrets-manager.PutSecretValue",
                            _echoing_error(SUPPLIED + "-new"))
    try:
        with pytest.raises(StepError) as err:
            config_store.plan_config(session, params, names).apply()
    finally:
        sm.meta.events.unregister("before-call.secrets-manager.PutSecretValue")
    seen += [str(err.value), repr(err.value), str(err.value.__cause__),
             str(err.value.__context__) if not err.value.__suppress_context__ else ""]
    assert "ValidationException" in str(err.value)

    out = capsys.readouterr()
    seen += [out.out, out.err, caplog.text]
    for value in (SUPPLIED, OTHER, SUPPLIED + "-new"):
        assert not [text for text in seen if value in text], value
    assert _secret_value(session, names.secret_name("staging", "API_KEY")) == SUPPLIED

