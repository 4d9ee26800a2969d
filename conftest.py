"""Root pytest hooks: the notebook regression run (nbval) gets its own fresh local AWS, and the
suite runs on several workers (pytest-xdist) as well as on one.

Notebooks are checked against the outputs of the canonical local run, which starts from an empty
local AWS, so they run against a server of their own, started here in a subprocess with a
throw-away state directory when the first notebook runs and stopped after the last one. Kernels
inherit AWS_ENDPOINT_URL from this process.

Under ``pytest -n N`` (what ``make test`` and ``make check`` run), the notebooks build on each
other (02 makes the bucket 03 uses ...), so they are one work unit: the scheduler given here
sends them to one worker, in the command line's order. So do the tests of an ``xdist_group``
mark, and a module's browser tests (one JupyterLab and one Chromium) or ``full_stack`` tests
(one app set up and released). Every other test may run on any worker: each worker is a process
of its own with its own session fixtures (the in-process local AWS on a free port, its moto
state, its temporary folders), so a test written for one process is safe on many. Tests marked
``slow`` go out first, so the short ones fill the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

NOTEBOOK_GROUP = "notebooks"  # the nbval items' work unit under pytest-xdist
# Module fixtures worth setting up once, not once per worker: a whole app set up and released.
_SHARED_PER_MODULE = {"full_stack"}
_state: dict = {}


def pytest_configure(config) -> None:
    # Tests run like the canonical local run, whatever the developer's shell has configured.
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_PROFILE", None)
    # No runbook.toml written into (or read from) the working directory by the `runbook`
    # commands tests start; tests/cli/test_project_file.py turns it on in a folder of its own.
    os.environ["RUNBOOK_PARAMS_FILE"] = "off"
    _state["nbval"] = bool(config.getoption("nbval", default=False))
    if _state["nbval"]:
        os.environ["RUNBOOK_HEADLESS"] = "1"
        os.environ["MPLBACKEND"] = "Agg"


def _is_notebook(item) -> bool:
    return item is not None and str(item.fspath).endswith(".ipynb")


def _group_of(item) -> str | None:
    """The work unit an item must share with others under pytest-xdist, if any: the notebooks'
    (they build on each other), or the name of an ``xdist_group`` mark."""
    if _is_notebook(item):
        return NOTEBOOK_GROUP
    mark = item.get_closest_marker("xdist_group")
    if mark is not None:
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    if item.get_closest_marker("browser") or _SHARED_PER_MODULE & set(item.fixturenames):
        return item.nodeid.split("::", 1)[0]  # one JupyterLab, Chromium or app per module
    return None


def _groups_file(workerinput: dict) -> Path:
    return Path(tempfile.gettempdir()) / (
        f"pytest-groups-{workerinput['testrunuid']}-{workerinput['workerid']}.json")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """On an xdist worker: tests marked ``slow`` first (the long ones start early and the short
    ones fill the end), and the groups written down for the controller's scheduler, which knows
    node ids only (xdist's own ``loadgroup`` puts the group in the node id, which pytest 9 no
    longer lets a plugin change, so its groups are silently lost)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
    groups = {item.nodeid: group for item in items if (group := _group_of(item))}
    target = _groups_file(workerinput)
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(groups))
    partial.replace(target)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scheduler for ``-n N``: each group (the notebooks, an ``xdist_group``
    mark) is one work unit, every other test a unit of its own. Units go out largest first, so
    the notebooks start at once on one worker while the others share the rest."""
    if config.getvalue("dist") == "each":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupsTogether(LoadScopeScheduling):
        groups: dict[str, str] = {}

        def schedule(self) -> None:
            if self.collection is None and self.nodes:
                found = _groups_file(self.nodes[0].workerinput)
                self.groups = json.loads(found.read_text()) if found.exists() else {}
                for node in self.nodes:
                    _groups_file(node.workerinput).unlink(missing_ok=True)
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::", 1)[0].endswith(".ipynb"):
                return NOTEBOOK_GROUP
            return self.groups.get(nodeid, nodeid)

    return GroupsTogether(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """The notebooks' local AWS starts when the first notebook does (before nbval starts its
    kernel), so no other test of the session can reach it through AWS_ENDPOINT_URL and leave
    something behind that the canonical run did not have."""
    if not _state.get("nbval") or "dir" in _state or not _is_notebook(item):
        return
    from runbook_lib.local.server import process

    state_dir = Path(tempfile.mkdtemp(prefix="runbook-nbval-"))
    status = process.start(state_dir)
    _state["dir"] = state_dir
    _state["endpoint_before"] = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = status.endpoint_url


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    """After the last notebook (nbval has shut its kernel down by now) the notebooks' local AWS
    stops and AWS_ENDPOINT_URL is what it was: tests that run after the notebooks in the same
    process (another worker's order) reach their own local AWS, never the notebooks'."""
    if "dir" in _state and _is_notebook(item) and not _is_notebook(nextitem):
        _stop_notebook_aws()


def _stop_notebook_aws() -> None:
    state_dir = _state.pop("dir", None)
    if state_dir is None:
        return
    from runbook_lib.local.server import process

    process.stop(state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)
    before = _state.pop("endpoint_before", None)
    if before is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = before


def pytest_unconfigure(config) -> None:
    _stop_notebook_aws()
