"""The one credential detector (core/secret_shapes), property-tested on generated values.

Every generated secret of every kind is found, whatever surrounds it; ordinary values that look
a bit like one (ARNs, S3 URIs, commit SHAs, URLs without a password, version strings, image
references) are not. Random parts of secrets come from a seeded random generator (secrets are
random; Hypothesis's own would shrink them to "AAAA..."), their surroundings from Hypothesis.
The same detector refuses parameters, flags buildspec variables and masks logs.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_lib.buildspec import lint
from runbook_lib.core import redact, secret_shapes
from runbook_lib.core.errors import SecretParameterError
from runbook_lib.core.params import Params

ALNUM = string.ascii_letters + string.digits
# a Mersenne Twister from a drawn seed: random-looking parts, and a failure Hypothesis can
# replay (its own shrinkable randoms would shrink a key to "AAAA...")
SEEDED_RANDOMS = st.integers(0, 2**64 - 1).map(random.Random)
BASE64 = ALNUM + "/+"


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def aws_secret_keys(draw):
    return _pick(draw(SEEDED_RANDOMS), BASE64, 40)


@st.composite
def url_passwords(draw):
    rng = draw(SEEDED_RANDOMS)
    scheme = draw(st.sampled_from(["postgres", "postgresql", "mysql", "redis", "mongodb+srv",
                                   "amqp", "https", "http", "ftp"]))
    user = draw(st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True) | st.just(""))
    password = draw(st.text(alphabet=ALNUM + "!$%^*()-_~", min_size=1, max_size=30))
    host = draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True))
    port = draw(st.sampled_from(["", ":5432", ":6379", ":443"]))
    path = draw(st.sampled_from(["", "/", "/app", "/db?sslmode=require"]))
    del rng
    return f"{scheme}://{user}:{password}@{host}{port}{path}"


@st.composite
def jwts(draw):
    rng = draw(SEEDED_RANDOMS)
    alg = draw(st.sampled_from(["HS256", "RS256", "ES384", "none"]))
    claims = draw(st.dictionaries(st.sampled_from(["sub", "iss", "aud", "exp", "name", "role"]),
                                  st.text(max_size=20) | st.integers(0, 2**40),
                                  min_size=1, max_size=6))
    header = _b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    signature = "" if alg == "none" else _b64url(rng.randbytes(32))
    return f"{header}.{payload}.{signature}"


@st.composite
def tokens(draw):
    rng = draw(SEEDED_RANDOMS)
    kind = draw(st.sampled_from(["github", "github_pat", "npm", "slack", "key_id", "pem"]))
    if kind == "github":
        return draw(st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])) + _pick(
            rng, ALNUM, 36)
    if kind == "github_pat":
        return f"github_pat_{_pick(rng, ALNUM, 22)}_{_pick(rng, ALNUM, 59)}"
    if kind == "npm":
        return "npm_" + _pick(rng, ALNUM, 36)
    if kind == "slack":
        return (f"xox{draw(st.sampled_from('baprs'))}-{_pick(rng, string.digits, 12)}-"
                f"{_pick(rng, string.digits, 12)}-{_pick(rng, ALNUM, 24)}")
    if kind == "key_id":
        return draw(st.sampled_from(["AKIA", "ASIA"])) + _pick(rng, string.ascii_uppercase
                                                              + "234567", 16)
    label = draw(st.sampled_from(["", "RSA ", "EC ", "OPENSSH ", "DSA ", "ENCRYPTED "]))
    return f"-----BEGIN {label}PRIVATE KEY-----\n{_pick(rng, BASE64, 64)}\n"


SECRETS = st.one_of(aws_secret_keys(), url_passwords(), jwts(), tokens())
BEFORE = st.sampled_from(["", "x:", "key=", "url: ", "a.b@", '"', "Bearer ", "--password ",
                          "DB_URL=", "token is ", "("])
AFTER = st.sampled_from(["", ".", "@x", ":", '"', " tail", ",", ")", ";"])


@settings(max_examples=250, deadline=None)
@given(secret=SECRETS, before=BEFORE, after=AFTER)
def test_every_generated_secret_is_found_whatever_surrounds_it(secret, before, after):
    value = before + secret + after
    assert secret_shapes.has_secret(value), value
    assert redact.looks_like_secret_value(value)


def test_aws_secret_keys_with_slash_and_plus_are_all_found():
    """The old check missed ~4 % of these (and all in values with ':', '.' or '@')."""
    rng = random.Random(20261207)
    keys = [_pick(rng, BASE64, 40) for _ in range(20_000)]
    assert sum("/" in k or "+" in k for k in keys) > 13_000  # ~72 %
    missed = [k for k in keys if not secret_shapes.has_secret(f"aws:{k}@x.y")]
    assert missed == []
    assert secret_shapes.secret_kinds("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == [
        secret_shapes.AWS_SECRET_KEY]


SEGMENT = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
ARNS = st.builds(
    lambda service, region, account, kind, parts: (
        f"arn:aws:{service}:{region}:{account}:{kind}/{'/'.join(parts)}"),
    st.sampled_from(["iam", "s3", "codebuild", "codepipeline", "kms", "logs", "lambda"]),
    st.sampled_from(["", "us-east-1", "eu-west-3"]), st.from_regex(r"\d{12}", fullmatch=True)
    | st.just(""), st.sampled_from(["role", "project", "key", "log-group", "function"]),
    st.lists(SEGMENT, min_size=1, max_size=6))
S3_URIS = st.builds(lambda bucket, parts: f"s3://{bucket}/{'/'.join(parts)}",
                    st.from_regex(r"[a-z0-9][a-z0-9.-]{2,40}[a-z0-9]", fullmatch=True),
                    st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,30}", fullmatch=True),
                             min_size=1, max_size=8))
SHAS = st.text(alphabet="0123456789abcdef", min_size=7, max_size=40) | st.text(
    alphabet="0123456789abcdef", min_size=64, max_size=64)
URLS = st.builds(
    lambda scheme, user, host, port, parts, query: (
        f"{scheme}://{user}{host}{port}/{'/'.join(parts)}{query}"),
    st.sampled_from(["https", "http", "git+ssh", "codecommit"]),
    st.sampled_from(["", "git@", "user@"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    st.sampled_from(["", ":8080", ":443"]), st.lists(SEGMENT, max_size=8),
    st.sampled_from(["", "?ref=main", "?page=2&sort=asc", "#readme"]))
VERSIONS = st.from_regex(r"v?\d{1,3}\.\d{1,3}\.\d{1,3}(-(alpha|beta|rc)\.\d{1,2})?"
                         r"(\+build\.\d{1,4})?", fullmatch=True)
IMAGES = st.builds(lambda repo, tag: f"public.ecr.aws/docker/library/{repo}{tag}",
                   st.sampled_from(["node", "python", "nginx"]),
                   st.sampled_from([":20-alpine", ":3.12", "@sha256:" + "ab12" * 16]))
ORDINARY = st.one_of(ARNS, S3_URIS, SHAS, URLS, VERSIONS, IMAGES,
                     st.sampled_from(["NODE_ENV=production", "ops@example.com", "main",
                                      "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
                                      "infrastructure/terraform/modules/network",
                                      "cron(0 9 ? * MON-FRI *)"]))


@settings(max_examples=300, deadline=None)
@given(value=ORDINARY)
def test_ordinary_values_are_not_flagged(value):
    assert secret_shapes.secret_spans(value) == []
    assert not redact.looks_like_secret_value(value)


@pytest.mark.parametrize("value, kind", [
    ("postgres://app:S3cr3t@db/app", secret_shapes.URL_PASSWORD),
    ("redis://:hunter2@cache:6379", secret_shapes.URL_PASSWORD),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", secret_shapes.JWT),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", secret_shapes.PRIVATE_KEY),
    ("AKIAIOSFODNN7EXAMPLE", secret_shapes.AWS_ACCESS_KEY_ID),
    ("npm_" + "a1B2" * 9, secret_shapes.NPM_TOKEN),
    ("xoxb-123456789012-abcdefghij", secret_shapes.SLACK_TOKEN),
    ("github_pat_" + "A1b2" * 6 + "_" + "x" * 59, secret_shapes.GITHUB_TOKEN),
])
def test_each_kind_is_named_and_masked(value, kind):
    assert secret_shapes.secret_kinds(value) == [kind]
    line = redact.redact_line(f"connecting with {value} now")
    assert redact.MASK in line and line.endswith(" now")
    secret_part = value.split("@")[0].split(":")[-1] if "://" in value else value
    assert secret_part not in line


@settings(max_examples=150, deadline=None)
@given(secret=SECRETS, field=st.sampled_from(["review_url", "app_name", "source_repo",
                                              "plaintext_variables", "config_parameters"]))
def test_parameters_refuse_every_secret_and_never_echo_it(secret, field):
    value = (f"DB_URL={secret}",) if field in ("plaintext_variables",
                                               "config_parameters") else secret
    with pytest.raises(SecretParameterError) as err:
        Params(**{field: value})
    shown = str(err.value) + repr(err.value.args) + repr(vars(err.value))
    assert secret.strip() not in shown and field in shown
    assert "RUNBOOK_SECRET_" in str(err.value)


@settings(max_examples=100, deadline=None)
@given(secret=SECRETS)
def test_buildspec_lint_flags_plaintext_variables_holding_a_secret(secret):
    quoted = json.dumps(secret.strip())
    check = lint.check_text("version: 0.2\nenv:\n  variables:\n    DATABASE: " + quoted
                            + "\nphases:\n  build:\n    commands:\n      - make\n")
    findings = [f for f in check.findings if f.rule_id == "plaintext-secret"]
    assert findings and "value not shown" in findings[0].message
    assert secret.strip() not in " ".join(f.message + f.fix for f in check.findings)
