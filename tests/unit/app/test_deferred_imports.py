"""The IRI grammar jsonschema compiles at import waits until an IRI is checked (a subprocess:
this test process imported jsonschema long ago)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from runbook_lib.app import deferred_imports
deferred_imports.defer_iri_grammar()
import nbformat, papermill  # what `runbook run` imports
print("lark before:", "lark" in sys.modules)
import jsonschema
checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
v = jsonschema.Draft202012Validator({"format": "iri"}, format_checker=checker)
print("good:", [e.message for e in v.iter_errors("https://example.com/caf\\u00e9")])
print("bad:", len(list(v.iter_errors("not an iri"))))
print("lark after:", "lark" in sys.modules)
"""


def test_the_grammar_is_compiled_only_when_an_iri_is_checked_and_then_checks():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.splitlines() == ["lark before: False", "good: []", "bad: 1",
                                        "lark after: True"], done.stdout + done.stderr


def test_nothing_to_defer_once_jsonschema_is_imported():
    import jsonschema  # noqa: F401  (already imported by nbval in this process)

    from runbook_lib.app import deferred_imports

    before = sys.modules.get(deferred_imports.IRI_MODULE)
    deferred_imports.defer_iri_grammar()
    assert sys.modules.get(deferred_imports.IRI_MODULE) is before
