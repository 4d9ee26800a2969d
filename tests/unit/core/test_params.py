"""The shared parameter model: validation before any AWS call, and derived names."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params


@pytest.mark.parametrize(
    "field, value, rule_fragment",
    [
        ("app_name", "Sample_App", "lowercase"),
        ("app_name", "ab", "3-30"),
        ("app_name", "a--b", "single hyphens"),
        ("app_name", "x" * 40, "3-30"),
        ("region", "mars-north-1", "region code"),
        ("region", "us-east", "region code"),
        ("target", "cloud", "one of local, aws"),
        ("source_provider", "svn", "one of"),
        ("source_branch", "feature branch", "git branch"),
        ("source_branch", "a..b", "git branch"),
        ("source_branch", "-x", "git branch"),
        ("source_repo", "no-slash", "OWNER/NAME"),
        ("source_repo", "../..", "OWNER/NAME"),
        ("source_repo", "acme/..", "OWNER/NAME"),
        ("connection_arn", "arn:aws:codeconnections:us-east-1:123:connection/x", "ARN"),
        ("approval_emails", ("not-an-email",), "e-mail"),
        ("build_timeout_minutes", 3, "5 to 2160"),
        ("noncurrent_version_days", 0, "1 to 3650"),
        ("kms_key_arn", "alias/foo", "KMS"),
        ("review_url", "staging.example.com", "http"),
        ("plaintext_variables", ("NOEQUALS",), "KEY=VALUE"),
        ("secret_names", ("API_KEY=hunter2",), "names only"),
        ("execution_mode", "FAST", "one of"),
        ("compute_type", "HUGE", "one of"),
        ("deploy_provider", "cloud-formation", "cloudformation"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_invalid_values_name_field_value_rule_and_example(field, value, rule_fragment):
    with pytest.raises(ParameterError) as err:
        Params(**{field: value})
    message = str(err.value)
    assert err.value.field == field
    assert rule_fragment in message
    assert "for example" in message


def test_secret_fields_never_echo_the_value():
    with pytest.raises(ParameterError) as err:
        Params(secret_names=("API_KEY=hunter2",))
    assert "hunter2" not in str(err.value)


def test_staging_and_production_must_differ():
    with pytest.raises(ParameterError) as err:
        Params(staging_name="prod", production_name="prod")
    assert err.value.field == "production_name"


def test_ecs_deploy_needs_no_extra_names_by_default_but_validates_given_ones():
    names = Params(deploy_provider="ecs").names()
    assert names.ecs_cluster == "sample-app-cluster"
    assert names.ecs_services == ("sample-app-service-staging", "sample-app-service-production")
    with pytest.raises(ParameterError):
        Params(deploy_provider="ecs", ecs_cluster="bad cluster")


def test_aws_target_with_connection_source_requires_connection_arn():
    with pytest.raises(ParameterError) as err:
        Params(target="aws")
    assert err.value.field == "connection_arn"


def test_long_names_would_break_bucket_limit():
    with pytest.raises(ParameterError) as err:
        Params(app_name="a" * 30, region="ap-southeast-2", staging_name="s" * 15)
    assert "63" in str(err.value)


def test_from_mapping_picks_fields_and_coerces_strings():
    p = Params.from_mapping({
        "app_name": "shop", "build_timeout_minutes": "20", "approval_emails": "a@x.io, b@x.io",
        "apply": True, "unrelated": object(),
    })
    assert p.app_name == "shop"
    assert p.build_timeout_minutes == 20
    assert p.approval_emails == ("a@x.io", "b@x.io")


def test_derived_names_are_consistent():
    n = Params(app_name="shop", region="eu-west-1").names("111122223333")
    assert n.artifact_bucket == "shop-artifacts-111122223333-eu-west-1"
    assert n.build_project_arn == "arn:aws:codebuild:eu-west-1:111122223333:project/shop-build"
    assert n.log_group == "/aws/codebuild/shop-build"
    assert n.role_arn(n.codebuild_role) == "arn:aws:iam::111122223333:role/shop-codebuild"
    assert n.ssm_path("staging") == "/shop/staging/"
    assert n.connection_arn.startswith("arn:aws:codeconnections:eu-west-1:111122223333:")
    assert all(len(b) <= 63 for b in (n.artifact_bucket, *n.deploy_buckets))


def test_gov_regions_use_their_partition():
    n = Params(region="us-gov-west-1").names("111122223333")
    assert n.pipeline_arn.startswith("arn:aws-us-gov:codepipeline:")


def test_bad_account_id_is_a_parameter_error():
    with pytest.raises(ParameterError):
        Params().names("12345")


_text = st.one_of(st.text(max_size=80), st.integers(), st.none(), st.booleans(),
                  st.lists(st.text(max_size=20), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([
    "app_name", "target", "region", "source_provider", "source_repo", "source_branch",
    "connection_arn", "build_template", "deploy_provider", "staging_name", "production_name",
    "compute_type", "build_image", "build_timeout_minutes", "cache_mode", "kms_key_arn",
    "noncurrent_version_days", "approval_emails", "failure_emails", "review_url", "ecs_cluster",
    "ecs_service", "container_name", "execution_mode", "plaintext_variables",
    "config_parameters", "secret_names", "secure_config_names",
]), _text, max_size=6))
def test_fuzz_only_parameter_errors_escape(values):
    try:
        params = Params.from_mapping(values)
        params.names()
    except ParameterError:
        pass


@pytest.mark.parametrize("env, expected", [
    ({}, "us-east-1"),
    ({"AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-2"),
    ({"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "ap-south-1"),
])
def test_empty_region_follows_the_environment_like_boto3(monkeypatch, env, expected):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Params().region == expected
    assert Params(region="sa-east-1").region == "sa-east-1"


@pytest.mark.parametrize("repo", ["..", "."])
def test_a_codecommit_repository_is_a_name_not_a_path(repo):
    with pytest.raises(ParameterError) as err:
        Params(source_provider="codecommit", source_repo=repo)
    assert err.value.field == "source_repo"
