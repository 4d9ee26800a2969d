"""The gateway's dispatcher answers moto's backend for a host once, then from memory.

moto looks the backend up on every request by listing its package folder and trying every
service's URL patterns; the answer is fixed for the life of the process.
"""

from __future__ import annotations

import moto.backends
import pytest
from moto.server import DomainDispatcherApplication, create_backend_app

from runbook_lib.local.server import moto_gateway

HOSTS = ["codepipeline.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com",
         "sts.amazonaws.com", "iam.amazonaws.com", "logs.eu-west-1.amazonaws.com",
         "moto_api", "s3", "events"]


@pytest.fixture
def listings(monkeypatch) -> list[int]:
    """How often moto lists its package folder to find a backend."""
    calls: list[int] = []
    listing = moto.backends.list_of_moto_modules

    def counted():
        calls.append(1)
        return listing()

    monkeypatch.setattr(moto.backends, "list_of_moto_modules", counted)
    return calls


def test_the_remembered_backend_is_moto_s_own():
    plain = DomainDispatcherApplication(create_backend_app)
    remembering = moto_gateway.MotoGateway().app
    for host in HOSTS:
        expected = plain.get_backend_for_host(host)
        assert expected is not None, host
        assert remembering.get_backend_for_host(host) == expected, host
        assert remembering.get_backend_for_host(host) == expected, host  # from memory


def test_a_host_is_looked_up_once(listings):
    app = moto_gateway.MotoGateway().app
    for _ in range(5):
        assert app.get_backend_for_host("codebuild.us-east-1.amazonaws.com") == "codebuild"
    assert len(listings) == 1


def test_no_host_and_unknown_hosts_are_asked_each_time(listings, capsys):
    app = moto_gateway.MotoGateway().app
    assert app.get_backend_for_host(None) is None
    assert listings == []
    for _ in range(2):
        assert app.get_backend_for_host("nothing.example.org") is None
    assert len(listings) == 2


def test_memory_is_bounded(monkeypatch, listings):
    monkeypatch.setattr(moto_gateway, "_REMEMBERED_HOSTS", 2)
    app = moto_gateway.MotoGateway().app
    for host in ("s3.us-east-1.amazonaws.com", "sns.us-east-1.amazonaws.com",
                 "sqs.us-east-1.amazonaws.com"):
        app.get_backend_for_host(host)
    app.get_backend_for_host("sqs.us-east-1.amazonaws.com")
    assert len(listings) == 4  # the third host was not remembered
