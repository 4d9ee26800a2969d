"""The CodeBuild project step's pure parts: build variables, settings, the update request.
Create/converge/drift on the local AWS: tests/integration/setup/test_codebuild.py."""

import pytest

from runbook_lib.core import tags
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params
from runbook_lib.setup import build_project_state, codebuild

SECRET_VALUE = "hunter2-correct-horse"


def _vars(**changes):
    params = Params(app_name="shop", **changes)
    return codebuild.build_environment_variables(params, params.names())


# -- build variables ------------------------------------------------------------------------------


def test_default_variables_in_stable_order_with_staging_references():
    assert _vars() == [
        {"name": "NODE_ENV", "value": "production", "type": "PLAINTEXT"},
        {"name": "LOG_LEVEL", "value": "/shop/staging/LOG_LEVEL", "type": "PARAMETER_STORE"},
        {"name": "FEATURE_FLAGS", "value": "/shop/staging/FEATURE_FLAGS",
         "type": "PARAMETER_STORE"},
        {"name": "DB_URL", "value": "/shop/staging/DB_URL", "type": "PARAMETER_STORE"},
        {"name": "API_KEY", "value": "shop/staging/API_KEY", "type": "SECRETS_MANAGER"},
    ]


def test_docker_builds_get_registry_repository_and_container_variables():
    got = {v["name"]: (v["type"], v["value"])
           for v in _vars(build_template="docker", container_name="web")}
    assert got["ECR_REGISTRY"] == ("PLAINTEXT", "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert got["IMAGE_REPO_NAME"] == ("PLAINTEXT", "shop")
    assert got["CONTAINER_NAME"] == ("PLAINTEXT", "web")
    assert "ECR_REGISTRY" not in {v["name"] for v in _vars()}


@pytest.mark.parametrize("case, entry, name", [
    ("password by name", f"DB_PASSWORD={SECRET_VALUE}", "DB_PASSWORD"),
    ("token by name", f"GITHUB_TOKEN={SECRET_VALUE}", "GITHUB_TOKEN"),
    ("api key by name", f"STRIPE_API_KEY={SECRET_VALUE}", "STRIPE_API_KEY"),
    ("aws access key by value", "UPLOAD_ID=AKIAABCDEFGHIJKLMNOP", "UPLOAD_ID"),
    ("github token by value", "HELPER=ghp_" + "a1B2c3D4" * 5, "HELPER"),
    ("high-entropy value", "BLOB=q8Zr2Lx9Vb4Nw7Tk3Hs6Jd1Mf5", "BLOB"),
])
def test_secret_looking_plaintext_is_refused_without_echoing_the_value(case, entry, name):
    with pytest.raises(ParameterError) as err:
        _vars(plaintext_variables=("NODE_ENV=production", entry))
    message = str(err.value)
    assert err.value.field == "plaintext_variables", case
    assert name in message and "SECRETS_MANAGER" in message, case
    assert entry.partition("=")[2] not in message, case


@pytest.mark.parametrize("case, entry", [
    ("environment name", "NODE_ENV=production"),
    ("url", "BUILD_URL=https://example.com/a/b"),
    ("empty value", "FLAG="),
])
def test_ordinary_plaintext_is_accepted(case, entry):
    name, _, value = entry.partition("=")
    assert {"name": name, "value": value, "type": "PLAINTEXT"} in _vars(
        plaintext_variables=(entry,)), case


@pytest.mark.parametrize("case, changes, field", [
    ("plaintext and config share a name",
     {"plaintext_variables": ("LOG_LEVEL=debug",)}, "config_parameters"),
    ("secret and secure config share a name",
     {"secret_names": ("DB_URL",)}, "secret_names"),
    ("plaintext shadows a docker variable",
     {"plaintext_variables": ("ECR_REGISTRY=x",), "build_template": "docker"},
     "plaintext_variables"),
    ("reserved CodeBuild prefix", {"plaintext_variables": ("CODEBUILD_X=1",)},
     "plaintext_variables"),
])
def test_clashing_or_reserved_names_are_refused(case, changes, field):
    with pytest.raises(ParameterError) as err:
        _vars(**changes)
    assert err.value.field == field, case


@pytest.mark.parametrize("entry, verdict", [
    (f"DB_PASSWORD={SECRET_VALUE}", "refused"),
    ("NODE_MODE=fast", "accepted"),
    (f"1BAD={SECRET_VALUE}", "refused"),  # refused by Params' shape check, which echoes entries
])
def test_plaintext_verdict_never_shows_the_value(entry, verdict):
    params = Params(app_name="shop")
    said = build_project_state.plaintext_verdict(params, params.names(), entry)
    assert said.startswith(verdict)
    assert SECRET_VALUE not in said


# -- project settings -----------------------------------------------------------------------------


@pytest.mark.parametrize("template, privileged", [
    ("nodejs", False), ("python", False), ("docker", True),
])
def test_privileged_mode_only_for_docker_builds(template, privileged):
    params = Params(app_name="shop", build_template=template)
    project = codebuild.desired_project(params, params.names())
    assert project["environment"]["privilegedMode"] is privileged


@pytest.mark.parametrize("case, mode, template, cache", [
    ("s3", "s3", "nodejs",
     {"type": "S3", "location": "shop-artifacts-123456789012-us-east-1/cache/shop-build"}),
    ("local", "local", "nodejs",
     {"type": "LOCAL", "modes": ["LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE"]}),
    ("local docker", "local", "docker",
     {"type": "LOCAL", "modes": ["LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE",
                                 "LOCAL_DOCKER_LAYER_CACHE"]}),
    ("none", "none", "nodejs", {"type": "NO_CACHE"}),
])
def test_cache_modes(case, mode, template, cache):
    params = Params(app_name="shop", cache_mode=mode, build_template=template)
    assert codebuild.desired_project(params, params.names())["cache"] == cache, case


def test_project_wiring_roles_logs_timeout_and_kms():
    key = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
    params = Params(app_name="shop", build_timeout_minutes=20)
    names = params.names()
    project = codebuild.desired_project(params, names)
    assert project["source"] == {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"}
    assert project["artifacts"] == {"type": "CODEPIPELINE"}
    assert project["serviceRole"] == "arn:aws:iam::123456789012:role/shop-codebuild"
    assert project["logsConfig"]["cloudWatchLogs"] == {"status": "ENABLED",
                                                       "groupName": "/aws/codebuild/shop-build"}
    assert project["timeoutInMinutes"] == 20
    assert tags.is_owned(tags.from_tag_list(project["tags"]), "shop")
    assert "encryptionKey" not in project
    with_key = codebuild.desired_project(params.replace(kms_key_arn=key), names)
    assert with_key["encryptionKey"] == key


def test_update_request_carries_only_drifted_fields_whole():
    params = Params(app_name="shop")
    desired = codebuild.desired_project(params, params.names())
    current = {**desired, "timeoutInMinutes": 60, "queuedTimeoutInMinutes": 480,
               "environment": {**desired["environment"], "privilegedMode": True,
                               "imagePullCredentialsType": "CODEBUILD"}}
    assert codebuild.project_update_request(current, desired) == {
        "name": "shop-build",
        "timeoutInMinutes": 15,
        "environment": desired["environment"],
    }


def test_displayed_plaintext_that_looks_secret_is_masked():
    variable = build_project_state.BuildVariable
    assert variable("DB_PASSWORD", "PLAINTEXT", SECRET_VALUE).shown_value == "***"
    assert variable("DB_URL", "PARAMETER_STORE", "/a/staging/DB_URL").shown_value \
        == "/a/staging/DB_URL"
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert variable("ECR_REGISTRY", "PLAINTEXT", registry).shown_value == registry
