"""Local services find each other by type (local/server/context.py's ``Peers``)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pytest

from runbook_lib.local.server.context import Peers


class Builds:
    def wait(self) -> str:
        return "done"


class FasterBuilds(Builds):
    pass


class Projects:
    pass


@runtime_checkable
class Waits(Protocol):
    def wait(self) -> str: ...


def test_a_peer_is_found_by_its_class_and_a_missing_one_is_named():
    peers = Peers()
    builds = Builds()
    peers.add(builds)
    assert peers.get(Builds) is builds
    assert peers.find(Projects) is None
    with pytest.raises(LookupError, match="runs no Projects"):
        peers.get(Projects)


def test_a_protocol_or_a_base_class_finds_the_peer_that_fits():
    peers = Peers()
    projects, builds = Projects(), FasterBuilds()
    peers.add(projects)
    peers.add(builds)
    assert peers.find(Waits) is builds
    assert peers.get(Builds) is builds


def test_the_default_extensions_are_one_per_class():
    from runbook_lib.local.server.dispatcher import default_extensions

    kinds = default_extensions()
    assert len(set(kinds)) == len(kinds)  # one instance per class: a lookup is unambiguous
