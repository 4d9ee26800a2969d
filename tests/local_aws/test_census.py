"""The census (tools/census.py) over every operation of the suite's 13 services.

It runs in a process of its own, with its own local AWS on a temporary state folder: the census
calls Delete* and Put* operations with made-up names, and moto's state is per process, so an
in-process census would share (and reset) the moto state of the session's shared server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
