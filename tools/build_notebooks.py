"""Build the committed notebooks from their percent-format sources, and refresh their outputs.

    python tools/build_notebooks.py            sources -> notebooks/*.ipynb (outputs kept
                                               only where the code did not change)
    python tools/build_notebooks.py --execute  then run the canonical local run on a fresh
                                               local AWS and store its outputs (nbval compares
                                               against these)

Sources live in notebooks/src/NAME.py: cells start with ``# %%``; ``# %% [markdown]`` cells hold
markdown as ``# `` comment lines; ``# %% tags=["parameters"]`` marks the parameters cell.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
NB_DIR = ROOT / "notebooks"
CANONICAL_PARAMETERS = {"apply": True, "push_sample_history": True}
APP = "sample-app"


def parse_source(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    chunks = re.split(r"^# %%", text, flags=re.M)
    for chunk in chunks[1:]:
        header, _, body = chunk.partition("\n")
        body = body.strip("\n")
        if "[markdown]" in header:
            lines = [re.sub(r"^# ?", "", line) for line in body.splitlines()]
            nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
            continue
        cell = nbformat.v4.new_code_cell(body)
        tags = re.search(r"tags=(\[.*\])", header)
        if tags:
            cell.metadata["tags"] = json.loads(tags.group(1))
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def build(only: list[str] | None = None) -> list[Path]:
    written = []
    for src in sorted(SRC.rglob("*.py")):
        rel = src.relative_to(SRC).with_suffix(".ipynb")
        if only and rel.stem not in only:
            continue
        dest = NB_DIR / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        fresh = parse_source(src.read_text())
        if dest.exists():
            fresh = _keep_outputs(nbformat.read(dest, as_version=4), fresh)
        nbformat.write(fresh, dest)
        written.append(dest)
    return written


def _keep_outputs(old, fresh):
    """Outputs survive a rebuild for cells whose source did not change."""
    by_source = {c.source: c for c in old.cells if c.cell_type == "code"}
    injected = [c for c in old.cells
                if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    for cell in fresh.cells:
        if cell.cell_type == "code" and cell.source in by_source:
            cell.outputs = by_source[cell.source].outputs
            cell.execution_count = by_source[cell.source].execution_count
    if injected:
        idx = next((i for i, c in enumerate(fresh.cells)
                    if "parameters" in c.metadata.get("tags", [])), -1)
        fresh.cells.insert(idx + 1, injected[0])
    return fresh


def execute(only: list[str] | None = None) -> int:
    """Run the canonical local run on a fresh local AWS and store its outputs."""
    sys.path.insert(0, str(ROOT))
    from runbook_lib.app import cmd_fleet, runner, suite
    from runbook_lib.local.server import process

    # The same order as `make test` runs them under nbval: the suite, the health report, then
    # the teardown (which deletes what the report reads).
    names = [nb.name for nb in suite.NOTEBOOKS if nb.kind != "teardown" and nb.path.exists()]
    with tempfile.TemporaryDirectory() as tmp:
        status = process.start(Path(tmp) / "state")
        os.environ["AWS_ENDPOINT_URL"] = status.endpoint_url
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        os.environ.pop("AWS_PROFILE", None)
        try:
            out = Path(tmp) / "out"
            params = dict(CANONICAL_PARAMETERS)
            result = runner.run_suite(names, params, "local", out)
            executed = {suite.by_name(r.name).path: r.path for r in result.notebooks}
            if result.ok:
                report = runner.run_report(f"{APP}-pipeline", out / "report" / "health.html")
                executed[runner.REPORT_NOTEBOOK] = report.with_suffix(".ipynb")
                fleet = cmd_fleet.render_fleet_report(
                    {"app_name": APP, "target": "local", "region": "", "days": 30,
                     "engine": "duckdb", "production_stage": "Deploy-production"},
                    out / "report" / "fleet.html")
                executed[cmd_fleet.FLEET_NOTEBOOK] = fleet.with_suffix(".ipynb")
                down = runner.run_suite(["teardown"], params, "local", out / "teardown")
                executed.update({suite.by_name(r.name).path: r.path for r in down.notebooks})
                result.notebooks.extend(down.notebooks)
            for dest, path in executed.items():
                if only and dest.stem not in only:
                    continue
                notebook = nbformat.read(path, as_version=4)
                _strip_volatile_metadata(notebook)
                nbformat.write(notebook, dest)
        finally:
            process.stop(Path(tmp) / "state")
    return 0 if result.ok else 1


def _strip_volatile_metadata(nb) -> None:
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execute", action="store_true")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    for path in build(args.only):
        print(f"built {path.relative_to(ROOT)}")
    return execute(args.only) if args.execute else 0


if __name__ == "__main__":
    sys.exit(main())
