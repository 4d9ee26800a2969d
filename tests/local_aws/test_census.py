"""The census (tools/census.py) over every operation of the suite's 13 services.

It runs in a process of its own, with its own local AWS on a temporary state folder: the census
calls Delete* and Put* operations with made-up names, and moto's state is per process, so an
in-process census would share (and reset) the moto state of the session's shared server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore import xform_name
from helpers import AWS_CLI

# Slow: its module-scoped fixture calls every operation of 13 services, a minute or more (not in
# `make check`); its tests share one worker under pytest-xdist instead of each building it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("census")]

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))
import census  # noqa: E402


@pytest.fixture(scope="module")
def outcomes():
    done = subprocess.run([sys.executable, str(TOOLS / "census.py"), "--json"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return [census.Outcome(**o) for o in json.loads(done.stdout)]


def test_every_operation_of_the_13_services_is_called(outcomes):
    models = botocore.session.get_session()
    expected = sum(len(models.get_service_model(s).operation_names) for s in census.SERVICES)
    assert len(census.SERVICES) == 13
    assert len(outcomes) == expected


def test_no_answer_is_an_html_page(outcomes):
    assert [f"{o.service}.{o.operation}" for o in outcomes if o.kind == "html"] == []


def test_refusals_are_not_emulated_errors_no_sdk_retries(outcomes):
    refused = [o for o in outcomes if o.kind == "not emulated"]
    assert refused
    for outcome in refused:
        assert outcome.status == 501, outcome
        assert "does not emulate" in outcome.message and outcome.operation in outcome.message


def test_every_successful_answer_matches_its_output_shape(outcomes):
    assert {f"{o.service}.{o.operation}": o.shape_errors for o in outcomes if o.shape_errors} \
        == {}


def test_no_operation_crashes(outcomes):
    """moto's crashes on minimal valid input are answered as AWS answers (moto_inputs)."""
    assert census.KNOWN_CRASHES == frozenset()
    assert [f"{o.service}.{o.operation}: {o.message[:120]}" for o in outcomes
            if o.kind == "crashed"] == []


def _cli_value(value):
    """The census's minimal input as JSON the AWS CLI reads (--cli-input-json)."""
    if isinstance(value, dict):
        return {k: _cli_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cli_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _exchange_seconds(debug: str) -> list[float]:
    """From the AWS CLI's --debug log: seconds from each request sent to its answer."""
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?(Sending http request|"
                        r"Response headers)", debug, re.M)
    sent = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f") for t, what in stamps
            if what == "Sending http request"]
    got = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f") for t, what in stamps
           if what == "Response headers"]
    return [(b - a).total_seconds() for a, b in zip(sent, got, strict=False)]


REFUSAL_SECONDS = 10.0


def test_refusals_reach_the_aws_cli_at_once_in_one_attempt(outcomes, local_aws):
    """One refused operation per service, through the real AWS CLI: one HTTP attempt (no
    retry), answered at once (well within the CLI's timeouts), the refusal printed (not a page).

    Each service is touched once through boto3 first: moto builds a service's backend on its
    first request (SSM's loads AWS's public parameters, over a second), a one-time cost of
    the server that is not the refusal's."""
    env = {**os.environ, **local_aws.credentials.environment(local_aws.endpoint_url)}
    refused: dict[str, list[str]] = {}
    for outcome in outcomes:
        if outcome.kind == "not emulated":
            refused.setdefault(outcome.service, []).append(outcome.operation)
    assert len(refused) >= 12
    for service, operations in refused.items():
        # The first the AWS CLI knows (its own models may lag botocore's by an operation).
        done, operation = next((d, o) for d, o in ((_cli_call(local_aws, env, service, o), o)
                                                   for o in operations[:6]) if d is not None)
        assert done.returncode != 0 and "NotImplemented" in done.stderr, done.stderr[-800:]
        assert "<html" not in done.stderr.lower()
        exchanges = _exchange_seconds(done.stderr)
        assert len(exchanges) == 1, f"{service}.{operation}: {len(exchanges)} attempts"
        # At once: not after a timeout (the CLI reads for 60 s) nor a backoff; the bound leaves
        # room for a loaded 2-core machine (1.8 s seen while `make test` ran beside it).
        assert exchanges[0] < REFUSAL_SECONDS, f"{service}.{operation}: {exchanges[0]:.2f} s"


def _cli_call(local_aws, env, service: str, operation: str):
    """The AWS CLI's --debug run of ``operation`` with the census's input, after one boto3
    call warmed the service; None when this AWS CLI does not know the operation."""
    shape = botocore.session.get_session().get_service_model(service).operation_model(
        operation).input_shape
    params = census.minimal_value(shape, "", service) if shape else {}
    warm = boto3.client(service, region_name="us-east-1", endpoint_url=local_aws.endpoint_url,
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    assert census.call(warm, service, operation, set()).kind == "not emulated"
    command = [AWS_CLI, "s3api" if service == "s3" else service, xform_name(operation, "-"),
               "--cli-input-json", json.dumps(_cli_value(params)), "--debug",
               "--endpoint-url", local_aws.endpoint_url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    return None if "Invalid choice" in done.stderr else done


def test_the_table_has_a_row_per_service(outcomes):
    rows = census.table(outcomes).splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == list(census.SERVICES)
