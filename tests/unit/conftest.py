"""Unit tests run without the HTTP local AWS. A test here that asks for it (the ``local_aws``,
``session`` or ``full_stack`` fixture of tests/conftest.py, directly or through another fixture)
fails before the server starts, saying where it belongs: tests/integration, mirrored the same way.
"""

from __future__ import annotations

import pytest


def pytest_runtest_setup(item) -> None:
    if "local_aws" in item.fixturenames:
        pytest.fail(f"{item.nodeid} needs the HTTP local AWS: move it to the same place under "
                    "tests/integration/ (docs/CONVENTIONS.md, Tests)", pytrace=False)
