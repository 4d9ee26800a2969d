"""Every generated permissions policy passes parliament, apart from documented linter gaps.

Trust policies are not linted here: parliament reads identity policies only (it reports a trust
policy's missing Resource as malformed); ``test_iam.py`` checks their conditions instead.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest
from parliament import analyze_policy_string

from runbook_lib.core.param_rules import DEPLOY_PROVIDERS
from runbook_lib.core.params import Params
from runbook_lib.setup import policies

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
ALIAS_ARN = "arn:aws:kms:us-east-1:123456789012:alias/app-artifacts"
SOURCES = {"github": "acme/sample-app", "codecommit": "sample-app", "s3": "src-bucket/app.zip"}

# Every source provider x deploy provider x docker or not x KMS none/key/alias.
ALL = [
    Params(source_provider=src, source_repo=repo, deploy_provider=dep, build_template=tpl,
           kms_key_arn=kms)
    for (src, repo), dep, tpl, kms in itertools.product(
        SOURCES.items(), DEPLOY_PROVIDERS, ("nodejs", "docker"), ("", KEY_ARN, ALIAS_ARN))
]


def _id(p: Params) -> str:
    kms = "alias" if "alias/" in p.kms_key_arn else ("key" if p.kms_key_arn else "nokms")
    return f"{p.source_provider}-{p.deploy_provider}-{p.build_template}-{kms}"

_GAPS = {(gap.issue, gap.action) for gap in policies.PARLIAMENT_KNOWN_GAPS}
_seen_gaps: Counter = Counter()


def _finding_actions(finding) -> list[str]:
    """The actions a finding is about; an empty list means "not attributable to an action"."""
    detail = finding.detail
    if isinstance(detail, list):
        return [item.get("action", "") for item in detail if isinstance(item, dict)]
    match = re.search(r"for action (\S+)", str(detail))
    return [match.group(1)] if match else []


def _unlisted(policy_json: str) -> list[str]:
    problems = []
    for finding in analyze_policy_string(policy_json).findings:
        actions = _finding_actions(finding)
        keys = [(finding.issue, a) for a in actions]
        if keys and all(k in _GAPS for k in keys):
            _seen_gaps.update(keys)
            continue
        problems.append(f"{finding.issue}: {finding.detail}")
    return problems


@pytest.mark.parametrize("p", ALL, ids=_id)
def test_generated_policies_have_no_unlisted_parliament_findings(p):
    for spec in policies.role_specs(p, p.names()):
        assert _unlisted(json.dumps(spec.permissions)) == [], spec.name


def test_parliament_catches_what_it_should():
    """The linter really runs: a broad, malformed policy gets findings we do not excuse."""
    broad = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket"},
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"},
    ]}
    assert _unlisted(json.dumps(broad))


def test_every_known_gap_is_still_needed():
    """Run last in this module: an allow-list entry no policy triggers must be removed."""
    for p in ALL:
        for spec in policies.role_specs(p, p.names()):
            _unlisted(json.dumps(spec.permissions))
    assert set(_seen_gaps) == _GAPS
    for gap in policies.PARLIAMENT_KNOWN_GAPS:
        assert gap.why and gap.reference.startswith("https://docs.aws.amazon.com/")
