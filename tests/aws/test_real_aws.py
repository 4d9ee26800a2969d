"""Against real AWS: read-only checks, run only when asked and credentials resolve.

    RUNBOOK_AWS_TESTS=1 AWS_PROFILE=... make test

They make no change in the account: preflight reads identity and simulates permissions.
"""

import os

import boto3
import pytest

from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import preflight

pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(os.environ.get("RUNBOOK_AWS_TESTS") != "1",
                       reason="real-AWS tests run only with RUNBOOK_AWS_TESTS=1"),
    pytest.mark.skipif(boto3.Session().get_credentials() is None,
                       reason="no AWS credentials resolve"),
]


def test_preflight_simulates_the_operators_permissions(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    params = Params(target="aws", source_provider="s3", source_repo="example-bucket/app.zip")
    report = preflight.run_preflight(AwsSession.from_params(params), params)
    assert report.account_id.isdigit() and len(report.account_id) == 12
    assert report.permissions and all(p.decision != "skipped" for p in report.permissions)
