"""Notebook tooling imported without the work it does for nothing.

jsonschema, which nbformat (and so papermill and nbconvert) imports, compiles an IRI grammar
with lark at import whenever ``rfc3987_syntax`` is installed, as JupyterLab's jupyter-events
makes it: 1.2 s of CPU in every `runbook` command that runs a notebook, a third of all that
`runbook run` itself spends. No notebook schema checks the ``iri`` format, so here the grammar
is compiled the first time an IRI is checked, if ever.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

IRI_MODULE = "rfc3987_syntax"


class _DeferredIriSyntax(types.ModuleType):
    """Stands in for ``rfc3987_syntax`` until jsonschema checks its first IRI; then the real
    module is imported (and stays in ``sys.modules``) and answers."""

    _real: Any = None

    def is_valid_syntax(self, *args: Any, **kwargs: Any) -> Any:
        if self._real is None:
            if sys.modules.get(IRI_MODULE) is self:
                del sys.modules[IRI_MODULE]
            self._real = importlib.import_module(IRI_MODULE)
        return self._real.is_valid_syntax(*args, **kwargs)


def defer_iri_grammar() -> None:
    """Call before anything imports jsonschema; once it has, there is nothing left to save."""
    if "jsonschema" in sys.modules or IRI_MODULE in sys.modules:
        return
    if importlib.util.find_spec(IRI_MODULE) is None:
        return  # not installed: jsonschema skips the format itself
    sys.modules[IRI_MODULE] = _DeferredIriSyntax(IRI_MODULE)
