"""Unit tests: ``tests/unit/<layer>/test_<module>.py`` tests ``runbook_lib/<layer>/<module>.py``
without the local AWS; ``project/`` holds the checks of the project as a whole.

Every folder here is a package, so two layers' tests of same-named modules (``setup/gates.py``
and ``operate/gates.py``) import as ``unit.setup.test_gates`` and ``unit.operate.test_gates``
(docs/CONVENTIONS.md, "Tests").
"""
