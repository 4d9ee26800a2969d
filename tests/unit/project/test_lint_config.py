"""The pre-commit hooks and `make lint` (which CI runs) run the same checks on the same files."""

import re
import shlex
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def _hooks() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert repo["repo"] == "local", "hooks run the .venv's tools: pre-commit downloads nothing"
    return {hook["id"]: hook for hook in repo["hooks"]}


def _lint_recipe() -> list[list[str]]:
    """The commands of the Makefile's lint target, with $(BIN) spelled as the hooks spell it."""
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "the Makefile has a lint target"
    return [shlex.split(line.strip().replace("$(BIN)/", ".venv/bin/"))
            for line in recipe[1].splitlines()]


def _command_with(recipe: list[list[str]], entry: str) -> list[str]:
    # ruff's hook adds --force-exclude: pre-commit passes file names, which ruff would lint
    # even where pyproject's extend-exclude says not to.
    words = [w for w in shlex.split(entry) if w != "--force-exclude"]
    found = [cmd for cmd in recipe if cmd[:len(words)] == words]
    assert found, f"make lint does not run the hook's command {entry!r}: {recipe}"
    return found[0]


def test_every_hook_runs_in_make_lint():
    recipe = _lint_recipe()
    hooks = _hooks()
    assert set(hooks) == {"ruff", "mypy", "buildspec-check"}
    for hook in hooks.values():
        assert hook["language"] == "system"
        _command_with(recipe, hook["entry"])


def test_ruff_hook_covers_the_folders_make_lint_checks():
    ruff = _command_with(_lint_recipe(), ".venv/bin/ruff check")
    folders = set(ruff[2:])
    pattern = _hooks()["ruff"]["files"]
    hooked = set(re.fullmatch(r"\^\((.*)\)/", pattern)[1].split("|"))
    assert hooked == folders


def test_buildspec_hook_checks_the_buildspecs_make_lint_checks():
    """Both pick the same files from the tree: the Makefile by wildcards, the hook by regex."""
    hook = _hooks()["buildspec-check"]
    in_tree = {p.relative_to(ROOT).as_posix() for top in ("runbook_lib", "tests")
               for p in (ROOT / top).rglob("buildspec*.y*ml")}
    hooked = {p for p in in_tree if re.search(hook["files"], p)}
    text = (ROOT / "Makefile").read_text()
    spec = re.search(r"^LINT_BUILDSPECS := (.*?)(?<!\\)\n", text, re.MULTILINE | re.DOTALL)[1]
    globs = re.findall(r"[\w./*-]+buildspec\.yml", spec)
    linted = {p.relative_to(ROOT).as_posix() for g in globs for p in ROOT.glob(g)}
    assert hooked == linted
    assert "runbook_lib/sample_app/buildspec.yml" in linted
    assert len(linted) > 5


def test_ci_runs_make_lint_and_mypy_is_configured_strict_for_core_and_operate():
    assert "make lint" in (ROOT / ".ci" / "run").read_text().splitlines()
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    strict = next(o for o in mypy["overrides"] if "runbook_lib.core.*" in o["module"])
    assert "runbook_lib.operate.*" in strict["module"]
    assert strict["disallow_untyped_defs"] and strict["disallow_any_generics"]
    assert strict["warn_return_any"] and strict["no_implicit_reexport"]
