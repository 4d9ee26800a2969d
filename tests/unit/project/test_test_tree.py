"""The test tree mirrors the package, and pytest can import every test module.

``tests/unit/<layer>/test_<module>.py`` tests ``runbook_lib/<layer>/<module>.py`` (``tests/
integration`` likewise, for the tests that need the HTTP local AWS), so a module's tests are
found from its path and a test file names what it tests. Test folders there are packages, so
same-named modules of two layers (``setup/gates.py``, ``operate/gates.py``) may have same-named
tests. Outside packages pytest imports a test module by its basename alone: two of them with one
basename stop the collection of the whole suite ("import file mismatch"), which happened twice.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TESTS = ROOT / "tests"
MIRRORS = ("unit", "integration")
PROJECT = "project"  # tests/unit/project: checks of the project as a whole, no module of its own
# Test files named after a family of checks rather than one module, each with the reason.
NOT_A_MODULE = {
    "tests/unit/buildspec/test_conformance.py":
        "every buildspec CodeBuild documents, through validate.py and lint.py",
    "tests/unit/buildspec/test_lint_credentials.py":
        "lint.py's credential rules, kept apart from its practices",
    "tests/unit/operate/test_aws_examples.py":
        "the operating functions fed the AWS CLI's example outputs",
    "tests/unit/operate/test_aws_order.py":
        "the operating functions fed those examples in every list order",
    "tests/unit/operate/test_triage_corpus.py":
        "triage over the corpus of real failing build logs",
    "tests/unit/views/test_guided_path.py":
        "guided mode's pieces across views/nb.py, views/display.py and app/lab_settings.py",
}
# Fixture apps and repositories carry tests of their own, run by their builds (tests/conftest.py).
NOT_COLLECTED = ("fixtures",)


def unmirrored(tests: Path, package: Path) -> list[str]:
    """Test modules of the mirrored trees with no module of the package at the mirrored path,
    as paths relative to the folder holding ``tests``."""
    found = []
    for mirror in MIRRORS:
        base = tests / mirror
        for path in sorted(base.rglob("test_*.py")):
            within = path.relative_to(base)
            if within.parts[0] == PROJECT:
                continue
            module = package / within.parent / (path.stem.removeprefix("test_") + ".py")
            where = path.relative_to(tests.parent).as_posix()
            if not module.is_file() and where not in NOT_A_MODULE:
                found.append(f"{where}: no {module.relative_to(package.parent).as_posix()}")
    return found


def folders_not_packages(tests: Path) -> list[str]:
    """Folders of the mirrored trees without ``__init__.py``: their test modules would be
    imported by basename, beside every other such module of the suite."""
    return sorted(folder.relative_to(tests.parent).as_posix()
                  for mirror in MIRRORS if (tests / mirror).is_dir()
                  for folder in [tests / mirror, *(tests / mirror).rglob("*")]
                  if folder.is_dir() and folder.name != "__pycache__"
                  and not (folder / "__init__.py").is_file())


def shared_basenames(tests: Path) -> dict[str, list[str]]:
    """Basenames shared by test modules that live outside packages (pytest's default import
    mode imports those under their basename), with where each one is."""
    outside = defaultdict(list)
    for path in sorted(tests.rglob("test_*.py")):
        within = path.relative_to(tests)
        if within.parts[0] in NOT_COLLECTED or (path.parent / "__init__.py").is_file():
            continue
        outside[path.name].append(within.as_posix())
    return {name: where for name, where in outside.items() if len(where) > 1}


def test_every_test_module_names_the_module_it_tests():
    found = unmirrored(TESTS, ROOT / "runbook_lib")
    assert found == [], ("move the tests to tests/<unit|integration>/<layer>/test_<module>.py, "
                         "or list the file with its reason in NOT_A_MODULE:\n" + "\n".join(found))


def test_the_listed_exceptions_exist():
    assert [p for p in NOT_A_MODULE if not (ROOT / p).is_file()] == []


def test_every_folder_of_the_mirrored_trees_is_a_package():
    found = folders_not_packages(TESTS)
    assert found == [], "add an empty __init__.py to:\n" + "\n".join(found)


def test_no_two_test_modules_outside_packages_share_a_basename():
    found = shared_basenames(TESTS)
    assert found == {}, f"rename one of each, or put it in a package: {found}"


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")


def test_the_checks_find_what_they_look_for(tmp_path):
    tests, package = tmp_path / "tests", tmp_path / "runbook_lib"
    _tree(tmp_path, [
        "runbook_lib/setup/gates.py",
        "tests/unit/__init__.py", "tests/unit/setup/__init__.py",
        "tests/unit/setup/test_gates.py", "tests/unit/setup/test_nothing.py",
        "tests/unit/project/__init__.py", "tests/unit/project/test_whole.py",
        "tests/integration/__init__.py", "tests/integration/operate/test_gates.py",
        "tests/local_aws/test_gates.py", "tests/fixtures/app/test_gates.py",
    ])
    assert unmirrored(tests, package) == [
        "tests/unit/setup/test_nothing.py: no runbook_lib/setup/nothing.py",
        "tests/integration/operate/test_gates.py: no runbook_lib/operate/gates.py"]
    assert folders_not_packages(tests) == ["tests/integration/operate"]
    assert shared_basenames(tests) == {
        "test_gates.py": ["integration/operate/test_gates.py", "local_aws/test_gates.py"]}
