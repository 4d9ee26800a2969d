"""Tests of the library that need the HTTP local AWS (the ``local_aws``, ``session`` or
``full_stack`` fixtures of tests/conftest.py): ``tests/integration/<layer>/test_<module>.py``
tests ``runbook_lib/<layer>/<module>.py``, as tests/unit does without a server.

Every folder here is a package, so a module's unit and integration tests may share a basename
(``unit.setup.test_iam`` and ``integration.setup.test_iam``; docs/CONVENTIONS.md, "Tests").
"""
