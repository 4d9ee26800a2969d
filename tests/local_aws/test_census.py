"""The census (tools/census.py) over every operation of the suite's 13 services.

It starts its own local AWS on a temporary state folder: the census calls Delete* and Put*
operations with made-up names, which must not reach the session's shared server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_lib.local.server.server import LocalAwsServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import census  # noqa: E402


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    server = LocalAwsServer(tmp_path_factory.mktemp("census-state"), port=0).start_thread()
    try:
        creds = server.credentials
        yield census.run_census(server.endpoint_url, creds.access_key_id,
                                creds.secret_access_key, set(server.app.routes))
    finally:
        server.shutdown()


def test_every_operation_of_the_13_services_is_called(outcomes):
    import botocore.session

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


def test_crashes_are_exactly_the_known_ones_and_answered_in_aws_words(outcomes):
    crashed = {f"{o.service}.{o.operation}" for o in outcomes if o.kind == "crashed"}
    assert crashed == census.KNOWN_CRASHES
    for outcome in outcomes:
        if outcome.kind == "crashed":
            assert outcome.code == "InternalFailure" and outcome.status == 501, outcome


def test_the_table_has_a_row_per_service(outcomes):
    rows = census.table(outcomes).splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == list(census.SERVICES)
