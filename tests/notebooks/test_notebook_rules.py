"""Notebooks stay thin, share the parameter model, and store only clean outputs."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runbook_lib.core.params import Params
from runbook_lib.core.redact import looks_like_secret_value

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
PARAM_LINE = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*): (?P<type>[\w\[\], .]+) = (?P<default>.+?)"
                        r"  # (?P<help>\S.*)$")
IDS = [p.relative_to(ROOT / "notebooks").as_posix() for p in NOTEBOOKS]


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return cells[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_and_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    cell = _parameters_cell(nb)
    defaults = Params()
    for line in cell.source.splitlines():
        if not line.strip():
            continue
        match = PARAM_LINE.match(line)
        assert match, f"parameter line must read `name: type = default  # help`: {line!r}"
        name = match["name"]
        if hasattr(defaults, name) and name != "extra":
            value = ast.literal_eval(match["default"])
            assert getattr(Params.from_mapping({name: value}), name) == getattr(defaults, name), (
                f"{path.name}: default of {name} differs from Params"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_cells_are_thin(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(_code_cells(nb)):
        assert not re.search(r"^\s*(def|class|async def) ", cell.source, re.M), f"cell {i}"
        assert "boto3" not in cell.source and "botocore" not in cell.source, f"cell {i}"
        assert not re.search(r"^\s*(for|while) .*:\s*$(\n\s+.*){4,}", cell.source, re.M), (
            f"cell {i}: a long loop is logic; move it into runbook_lib"
        )


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(out["text"])
        for mime, data in out.get("data", {}).items():
            if mime.startswith("text/") or mime == "application/json":
                parts.append(data if isinstance(data, str) else json.dumps(data))
        parts.extend(out.get("traceback", []))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_outputs_hold_no_secret_account_or_machine_path(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(_code_cells(nb)):
        text = _output_text(cell)
        for account in set(re.findall(r"\b\d{12}\b", text)) - {"123456789012"}:
            assert not re.search(rf"arn:aws[\w-]*:[\w-]+:[\w-]*:{account}", text), (
                f"cell {i} shows account {account}")
        assert not re.search(r"(/root|/home/|/tmp/|/work/|/Users/)[\w.-]", text), (
            f"cell {i} shows a machine path")
        secretish = [t for t in re.split(r"[\s'\",()\[\]{}<>]+", text)
                     if looks_like_secret_value(t) and not t.startswith(("arn:", "http"))]
        assert secretish == [], f"cell {i} shows secret-looking values"
        assert "Traceback" not in text or "ParameterError" in text, f"cell {i} has a traceback"


def test_sources_and_notebooks_agree():
    sys.path.insert(0, str(ROOT / "tools"))
    from build_notebooks import parse_source

    for src in sorted((ROOT / "notebooks" / "src").rglob("*.py")):
        built = ROOT / "notebooks" / src.relative_to(ROOT / "notebooks" / "src").with_suffix(
            ".ipynb")
        assert built.exists(), f"{built.name} missing: run python tools/build_notebooks.py"
        want = [c.source for c in parse_source(src.read_text()).cells]
        have = [c.source for c in nbformat.read(built, as_version=4).cells
                if "injected-parameters" not in c.metadata.get("tags", [])]
        assert have == want, f"{built.name} is stale: run python tools/build_notebooks.py"


def _nbval(path: Path, endpoint: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--nbval-sanitize-with", str(ROOT / "tests" / "notebooks" / "sanitize.cfg"),
         str(path)],
        capture_output=True, text=True, timeout=300, cwd=path.parent,
        env={**__import__("os").environ, "AWS_ENDPOINT_URL": endpoint, "RUNBOOK_HEADLESS": "1"},
    )


def test_a_drifted_output_fails_nbval(tmp_path, local_aws):
    source = nbformat.read(ROOT / "notebooks" / "01_preflight.ipynb", as_version=4)
    good = tmp_path / "good.ipynb"
    nbformat.write(source, good)
    assert _nbval(good, local_aws.endpoint_url).returncode == 0
    drifted = tmp_path / "drifted.ipynb"
    for cell in _code_cells(source):
        for out in cell.outputs:
            if out.get("output_type") == "stream" and "region:" in out["text"]:
                out["text"] = out["text"].replace("us-east-1", "eu-west-1")
    nbformat.write(source, drifted)
    result = _nbval(drifted, local_aws.endpoint_url)
    assert result.returncode != 0
    assert "eu-west-1" in result.stdout
