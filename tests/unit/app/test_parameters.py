"""Parameters of a headless run: known names, strict booleans, no secrets, -p and -f alike."""

import traceback

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_lib.app import parameters
from runbook_lib.core.errors import ParameterError, SecretParameterError, UnknownParameterError

SECRET = "hunter2-Zq8vK3mW9pL4xR7tB2nY5"
AWS_KEY_ID = "AKIAQWERTYUIOPASDFGH"
GITHUB_TOKEN = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"


def _load(pairs=(), file_text=None, tmp_path=None):
    path = None
    if file_text is not None:
        path = tmp_path / "params.yml"
        path.write_text(file_text)
    return parameters.load(path, list(pairs), "local")


@pytest.mark.parametrize("word, expected", [
    ("true", True), ("TRUE", True), ("Yes", True), ("1", True), ('"false"', False),
    ("'No'", False), ("0", False), ("False", False), ("  yes ", True),
])
def test_booleans_accept_only_the_six_words_in_any_case(word, expected):
    assert _load([f"apply={word}"])["apply"] is expected


@pytest.mark.parametrize("word", ["nope", "on", "off", "y", "2", "-1", "truthy", "[true]",
                                  "{a: 1}", "null"])
def test_any_other_boolean_is_refused_and_nothing_is_guessed(word):
    with pytest.raises(ParameterError) as err:
        _load([f"apply={word}"])
    assert err.value.field == "apply"
    assert "true or false" in str(err.value)


def test_booleans_in_a_file_follow_the_same_rule(tmp_path):
    assert _load(file_text="apply: 'false'\nschedule_report: YES\n",
                 tmp_path=tmp_path)["schedule_report"] is True
    with pytest.raises(ParameterError):
        _load(file_text="apply: on\n", tmp_path=tmp_path)


@pytest.mark.parametrize("typo, closest", [
    ("app_nme", "app_name"), ("aply", "apply"), ("sourcerepo", "source_repo"),
    ("build_timeout", "build_timeout_minutes"),
])
def test_unknown_names_are_refused_with_the_closest_known_one(typo, closest):
    with pytest.raises(UnknownParameterError) as err:
        _load([f"{typo}=x"])
    assert f"did you mean {closest}?" in str(err.value)


def test_unknown_name_without_a_close_one_lists_the_known_names():
    with pytest.raises(UnknownParameterError) as err:
        _load(["zzzzzz=1"])
    assert "app_name" in str(err.value) and "apply" in str(err.value)


def test_types_follow_the_declarations_and_yaml_guesses_nothing():
    values = _load(["build_timeout_minutes=20", "source_branch=0x1f", "app_name=shop",
                    "approval_emails=a@x.io,b@x.io", "kms_key_arn="])
    assert values["build_timeout_minutes"] == 20
    assert values["source_branch"] == "0x1f"  # not 31
    assert values["approval_emails"] == "a@x.io,b@x.io"
    assert values["kms_key_arn"] == ""
    with pytest.raises(ParameterError):
        _load(["build_timeout_minutes=twenty"])


_SECRET_CASES = {
    "env-var name": (["RUNBOOK_SECRET_API_KEY=" + SECRET], None),
    "secret name": (["API_KEY=" + SECRET], None),
    "password name": (["DB_PASSWORD=" + SECRET], None),
    "config pair name": (["config_parameters=LOG_LEVEL=info,DB_PASSWORD=" + SECRET], None),
    "plaintext pair name": (["plaintext_variables=GITHUB_TOKEN=" + SECRET], None),
    "plaintext pair value": (["plaintext_variables=KEY_ID=" + AWS_KEY_ID], None),
    "token in a url": ([f"review_url=https://s.example.com/?t={GITHUB_TOKEN}"], None),
    "key id as app name": ([f"app_name={AWS_KEY_ID}"], None),
    "file secret name": ((), f"API_KEY: {SECRET}\n"),
    "file config mapping": ((), f"config_parameters:\n  DB_PASSWORD: {SECRET}\n"),
    "file plaintext list": ((), f"plaintext_variables: [NODE_ENV=x, TOKEN={SECRET}]\n"),
    "file private key": ((), "summary: |\n  " + PRIVATE_KEY.replace("\n", "\n  ") + "\n"),
    "file key id in a list": ((), f"approval_emails: [{AWS_KEY_ID}]\n"),
}


def _all_text(err: BaseException) -> str:
    """Everything an exception could show: message, args, attributes, chained causes."""
    parts = ["".join(traceback.format_exception(err)), repr(err.args), repr(vars(err))]
    return "\n".join(parts)


@pytest.mark.parametrize("pairs, file_text", list(_SECRET_CASES.values()), ids=list(_SECRET_CASES))
def test_secrets_are_refused_with_the_way_to_pass_them_and_never_echoed(pairs, file_text,
                                                                        tmp_path):
    with pytest.raises(SecretParameterError) as err:
        _load(pairs, file_text, tmp_path)
    shown = _all_text(err.value)
    for secret in (SECRET, AWS_KEY_ID, GITHUB_TOKEN, "MIIEow"):
        assert secret not in shown
    assert "RUNBOOK_SECRET_" in str(err.value) and "notebook 06" in str(err.value)


def test_known_names_that_mention_secrets_are_not_refused():
    assert _load(["secret_names=API_KEY,GITHUB_TOKEN"])["secret_names"] == "API_KEY,GITHUB_TOKEN"


@pytest.mark.parametrize("text, fragment", [
    ("app_name: [x\n", "not valid YAML"),
    ("a: &a [*a]\n", "alias"),
    ("- just\n- a list\n", "mapping"),
    ("[" * 5000, "YAML"),
])
def test_broken_files_are_parameter_errors_naming_the_file(text, fragment, tmp_path):
    with pytest.raises(ParameterError) as err:
        _load(file_text=text, tmp_path=tmp_path)
    assert "--params-file" in str(err.value) and fragment in str(err.value)


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "params.yml"
    path.write_bytes(b"\x00\xff\xfe\x01binary")
    with pytest.raises(ParameterError) as err:
        parameters.load(path, [], "local")
    assert "UTF-8" in str(err.value)


# -- fuzzing: only ParameterError escapes, and -p and -f read a value alike -----------------------

_NAMES = st.sampled_from(sorted(parameters.known_parameters()) + ["nope", "API_KEY"])
_VALUES = st.recursive(
    st.one_of(st.text(max_size=30), st.integers(-10**12, 10**12), st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_NAMES, st.text(max_size=40)), max_size=4))
def test_fuzz_p_pairs_raise_only_parameter_errors(pairs):
    try:
        parameters.load(None, [f"{k}={v}" for k, v in pairs], "local")
    except ParameterError:
        pass


_FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # tmp_path is overwritten per example


@settings(max_examples=300, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_files_raise_only_parameter_errors(content, tmp_path):
    path = tmp_path / "fuzz.yml"
    path.write_bytes(content)
    try:
        parameters.load(path, [], "local")
    except ParameterError:
        pass


def _outcome(call):
    try:
        return ("ok", call())
    except ParameterError as err:
        return ("error", type(err).__name__, err.field)


@settings(max_examples=300, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(name=_NAMES, value=_VALUES)
def test_fuzz_a_value_means_the_same_through_p_and_f(name, value, tmp_path):
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = text.removesuffix("\n...").strip()
    path = tmp_path / "one.yml"
    path.write_text(yaml.safe_dump({name: value}, default_flow_style=True, width=10**6))
    via_p = _outcome(lambda: parameters.load(None, [f"{name}={text}"], "local"))
    via_f = _outcome(lambda: parameters.load(path, [], "local"))
    if text == "" or text == "''":
        return  # -p NAME= means the empty text, as an empty YAML document would not
    assert via_p == via_f


def test_a_target_parameter_must_agree_with_the_target_option():
    assert _load(["target=local"])["target"] == "local"
    with pytest.raises(ParameterError) as err:
        _load(["target=aws"])
    assert "--target aws" in str(err.value)
