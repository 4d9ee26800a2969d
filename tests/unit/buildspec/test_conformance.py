"""Conformance with CodeBuild: every buildspec AWS documents, and the forms issue 9 names.

Each fixture says where it comes from and whether CodeBuild accepts it (``# expect:``); a
refused one names the line at fault. See tests/fixtures/buildspecs/SOURCES.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook_lib.buildspec.validate import load_buildspec, parse_buildspec
from runbook_lib.core.errors import BuildspecError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "buildspecs"
_EXPECT_RE = re.compile(r"^# expect: (valid|invalid at line (\d+))", re.M)
CASES = sorted(FIXTURES.glob("*/*.yml"))


def _expectation(path: Path) -> int | None:
    """None for a valid fixture, else the line CodeBuild's refusal must name."""
    match = _EXPECT_RE.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no '# expect:' line"
    return int(match[2]) if match[2] else None


def test_the_set_is_large_and_mixed():
    expectations = [_expectation(path) for path in CASES]
    assert len(expectations) >= 50
    assert sum(e is None for e in expectations) >= 40
    assert sum(e is not None for e in expectations) >= 8


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture_matches_codebuild(path):
    line = _expectation(path)
    if line is None:
        spec = load_buildspec(path)
        assert spec.version in ("0.1", "0.2")
        assert spec.phases or spec.batch is not None
        return
    with pytest.raises(BuildspecError) as err:
        load_buildspec(path)
    assert err.value.line == line, str(err.value)
    assert str(path) in str(err.value)


def _case(name: str):
    return load_buildspec(FIXTURES / "cases" / f"{name}.yml")


def test_single_strings_are_lists_of_one():
    spec = _case("ecs-files-one-string")
    assert spec.artifacts.files == ("imagedefinitions.json",)
    assert spec.artifacts.secondary["docs"].files == ("docs/index.html",)
    assert spec.cache.paths == ("/root/.npm/**/*",)
    assert _case("commands-one-string").phase("build").commands == (
        'export MY_VAR="some value"',)


def test_report_formats_are_case_insensitive_and_normalised():
    reports = _case("report-format-mixed-case").reports
    assert {name: r.file_format for name, r in reports.items()} == {
        "unit": "JUNITXML", "features": "CUCUMBERJSON", "coverage": "COBERTURAXML"}
    assert reports["coverage"].is_coverage and not reports["unit"].is_coverage


def test_version_01_keeps_its_semantics_and_env_names():
    spec = _case("version-0.1")
    assert spec.version == "0.1" and not spec.shares_one_shell
    assert spec.env.variables == {"GREETING": "hello"}
    assert [w.rule_id for w in spec.warnings] == ["version-0.1"]


def test_environment_variables_in_02_are_read_with_a_warning():
    spec = parse_buildspec("version: 0.2\nenvironment_variables:\n  plaintext:\n    A: b\n"
                           "phases:\n  build:\n    commands: [x]\n")
    assert [(w.line, w.rule_id) for w in spec.warnings] == [(2, "renamed-in-0.2")]
    assert spec.env.variables == {"A": "b"}
    both = parse_buildspec("version: 0.2\nenv:\n  variables:\n    C: d\n"
                           "environment_variables:\n  plaintext:\n    A: b\n"
                           "phases:\n  build:\n    commands: [x]\n")
    assert both.env.variables == {"C": "d"}
    assert [w.line for w in both.warnings] == [5]


def test_artifact_type_is_a_01_key():
    text = "phases:\n  build:\n    commands: [x]\nartifacts:\n  type: zip\n  files: [a]\n"
    assert parse_buildspec("version: 0.1\n" + text).warnings[1:] == ()
    assert [w.rule_id for w in parse_buildspec("version: 0.2\n" + text).warnings] == [
        "unknown-key"]


def test_batch_without_phases():
    spec = _case("batch-list-no-phases")
    assert spec.phases == ()
    assert spec.batch.kind == "build-list" and spec.batch.fast_fail
    assert [(t.identifier, t.buildspec, t.ignore_failure) for t in spec.batch.tasks] == [
        ("linux", "ci/linux.yml", False), ("docs", "ci/docs.yml", True)]


def test_batch_matrix_expands_every_combination():
    spec = parse_buildspec(
        "version: 0.2\nbatch:\n  build-matrix:\n    static:\n      ignore-failure: true\n"
        "    dynamic:\n      buildspec:\n        - a.yml\n        - b.yml\n      env:\n"
        "        variables:\n          NODE:\n            - '18'\n            - '20'\n"
        "            - '22'\n")
    tasks = spec.batch.tasks
    assert len(tasks) == 6 and all(t.ignore_failure for t in tasks)
    assert {(t.buildspec, t.variables["NODE"]) for t in tasks} == {
        (b, n) for b in ("a.yml", "b.yml") for n in ("18", "20", "22")}
    assert len({t.identifier for t in tasks}) == 6


def test_batch_graph_dependency_must_exist():
    with pytest.raises(BuildspecError) as err:
        parse_buildspec("version: 0.2\nbatch:\n  build-graph:\n    - identifier: a\n"
                        "      depend-on:\n        - nope\nphases:\n  build:\n"
                        "    commands: [x]\n")
    assert err.value.line == 6 and "nope" in err.value.rule


def test_silent_cases_are_warnings_at_their_lines():
    spec = _case("silent-cases-warn")
    found = sorted((w.line, w.rule_id) for w in spec.warnings)
    assert found == [(6, "unknown-key"), (9, "empty-list"), (11, "finally-only"),
                     (16, "duplicate-key")]
    assert spec.phase("build").commands == ("make all",)
    assert spec.phase("install").commands == ()
    assert spec.phase("pre_build").finally_commands == ("echo cleanup",)


def test_a_misindented_phase_is_named_as_one():
    spec = load_buildspec(FIXTURES / "public" / "misindented-phases.yml")
    assert [(w.line, w.fix) for w in spec.warnings] == [
        (28, "'post_build' is a phase: indent it directly under 'phases:'"),
        (31, "'artifacts' is a top-level key: start it at the beginning of the line")]


def test_elastic_beanstalk_settings_are_not_flagged():
    spec = load_buildspec(FIXTURES / "aws-docs" / "sample-elastic-beanstalk-3.yml")
    assert spec.warnings == ()


@pytest.mark.parametrize(("name", "words"), [
    ("en-dash-list-marker", "not '-'"),
    ("continuation-with-colon", "continues on line 9"),
    ("missing-list-marker", "neither 'key: value' nor a '- ' list item"),
])
def test_line_at_fault_is_explained(name, words):
    with pytest.raises(BuildspecError) as err:
        _case(name)
    assert words in err.value.rule
