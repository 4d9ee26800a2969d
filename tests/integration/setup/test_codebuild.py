"""The CodeBuild project step on the local AWS: create, converge, drift, look-alikes refused."""

import pytest
from helpers import assert_converged, create_pipeline_build_project

from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError, ParameterError
from runbook_lib.core.plan import diff_values
from runbook_lib.setup import build_project_state, codebuild

SECRET_VALUE = "hunter2-correct-horse"


# -- against the local AWS ------------------------------------------------------------------------


def _apply(session, params, names):
    return codebuild.plan_build_project(session, params, names).apply()


def test_first_run_creates_log_group_then_project(session, params, names):
    plan = codebuild.plan_build_project(session, params, names)
    assert [(c.action, c.resource) for c in plan.changes] == [
        ("create", f"log group {names.log_group}"),
        ("create", f"build project {names.build_project}"),
    ]
    assert session.recorder.mutating_count == 0
    plan.apply()
    project = session.client("codebuild").batch_get_projects(
        names=[names.build_project])["projects"][0]
    assert project["environment"]["environmentVariables"] == \
        codebuild.build_environment_variables(params, names)
    assert project["logsConfig"]["cloudWatchLogs"]["groupName"] == names.log_group
    assert tags.is_owned(tags.from_tag_list(project["tags"]), params.app_name)


def test_log_group_created_with_retention_and_ownership_tags(session, params, names):
    _apply(session, params, names)
    group = codebuild.find_log_group(session, names.log_group)
    assert group["retentionInDays"] == codebuild.LOG_RETENTION_DAYS
    found = session.client("logs").list_tags_for_resource(resourceArn=names.log_group_arn)
    assert tags.is_owned(found["tags"], params.app_name)


def test_converged_rerun_makes_zero_mutating_calls(session, params, names):
    _apply(session, params, names)
    plan = assert_converged(session, lambda: _apply(session, params, names))
    assert "no changes" in plan.summary()


def test_drifted_timeout_is_updated_alone(session, params, names):
    _apply(session, params, names)
    cb = session.client("codebuild")
    cb.update_project(name=names.build_project, timeoutInMinutes=60)
    sent = []
    cb.meta.events.register("provide-client-params.codebuild.UpdateProject",
                            lambda params, **_: sent.append(dict(params)))
    plan = codebuild.plan_build_project(session, params, names)
    change = plan.changes[1]
    assert (change.action, change.diff) == ("update", ["timeoutInMinutes: 60 -> 15"])
    assert plan.changes[0].action == "unchanged"
    session.recorder.reset()
    plan.apply()
    assert sent == [{"name": names.build_project, "timeoutInMinutes": 15}]
    assert session.recorder.mutating == {("codebuild", "UpdateProject"): 1}
    session.recorder.reset()
    _apply(session, params, names)
    assert session.recorder.mutating_count == 0


@pytest.mark.parametrize("case, changes, field", [
    ("docker turns on privileged mode and docker variables", {"build_template": "docker"},
     "environment"),
    ("cache mode", {"cache_mode": "none"}, "cache"),
    ("new plaintext variable", {"plaintext_variables": ("NODE_ENV=production", "TZ=UTC")},
     "environment"),
])
def test_parameter_changes_update_the_project(session, params, names, case, changes, field):
    _apply(session, params, names)
    changed = params.replace(**changes)
    plan = _apply(session, changed, names)
    assert plan.changes[1].action == "update", case
    assert all(line.startswith(field) for line in plan.changes[1].diff), case
    project = codebuild.get_project(session, names.build_project)
    assert diff_values(project[field], codebuild.desired_project(changed, names)[field]) == [], case


def test_log_group_retention_drift_is_restored(session, params, names):
    _apply(session, params, names)
    session.client("logs").put_retention_policy(logGroupName=names.log_group, retentionInDays=7)
    plan = codebuild.plan_build_project(session, params, names)
    assert plan.changes[0].diff == ["retentionInDays: 7 -> 30"]
    plan.apply()
    assert codebuild.find_log_group(session, names.log_group)["retentionInDays"] == 30


def _untagged_project(session, names, _app):
    create_pipeline_build_project(session, names.build_project, names.role_arn("someone-else"))


def _other_apps_project(session, names, _app):
    _untagged_project(session, names, _app)
    # UpdateProject replaces the whole tag set.
    session.client("codebuild").update_project(
        name=names.build_project,
        tags=tags.as_tag_list(tags.ownership_tags("other-app"), key="key", value="value"))


def _untagged_log_group(session, names, _app):
    session.client("logs").create_log_group(logGroupName=names.log_group)


@pytest.mark.parametrize("case, make, resource", [
    ("untagged project", _untagged_project, "build project"),
    ("another app's project", _other_apps_project, "build project"),
    ("untagged log group", _untagged_log_group, "log group"),
])
def test_look_alikes_are_refused_and_left_alone(session, params, names, case, make, resource):
    make(session, names, params.app_name)
    session.recorder.reset()
    with pytest.raises(NotOwnedError) as err:
        codebuild.plan_build_project(session, params, names)
    assert err.value.resource.startswith(resource), case
    assert session.recorder.mutating_count == 0, case


def test_secret_plaintext_is_refused_before_any_aws_call(session, params, names):
    with pytest.raises(ParameterError):  # the shared model refuses it, or else the plan
        leaky = params.replace(plaintext_variables=(f"DB_PASSWORD={SECRET_VALUE}",))
        codebuild.plan_build_project(session, leaky, names)
    assert not session.recorder.calls


def test_describe_shows_plan_before_and_live_project_after(session, params, names):
    before = build_project_state.describe_build_project(session, params, names)
    assert not before.exists
    _apply(session, params, names)
    after = build_project_state.describe_build_project(session, params, names)
    assert after.exists
    assert (after.image, after.compute_type, after.privileged, after.timeout_minutes) == (
        params.build_image, params.compute_type, False, 15)
    assert after.log_group == names.log_group
    assert after.cache.startswith("S3 s3://")
    assert after.variable_rows() == before.variable_rows()
    assert ("API_KEY", "SECRETS_MANAGER", names.secret_name("staging", "API_KEY")) in \
        after.variable_rows()
