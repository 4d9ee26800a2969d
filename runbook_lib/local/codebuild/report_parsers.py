"""Test and coverage report files, read into CodeBuild's TestCase and coverage summary shapes.

The formats are the ones a buildspec's ``reports.*.file-format`` names (buildspec reference,
``#build-spec.reports.file-format``): JUnit XML, Cucumber JSON, NUnit XML (v2) and NUnit 3
XML, TestNG XML, Visual Studio TRX; coverage as Clover XML, Cobertura XML, JaCoCo XML and
SimpleCov JSON. Test cases come out as botocore's ``TestCase`` fields (status SUCCEEDED,
FAILED, ERROR, SKIPPED or UNKNOWN; durations in nanoseconds). XML with a DOCTYPE is refused:
report files come from the build, and entity expansion is not something a report needs.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

MAX_MESSAGE = 4096


class ReportFileError(ValueError):
    """A report file that cannot be read in the declared format."""


def parse_test_file(data: bytes, file_format: str) -> list[dict]:
    """Test cases (without ``reportArn``) of one report file in ``file_format``."""
    parser = _TEST_PARSERS.get(file_format)
    if parser is None:
        raise ReportFileError(f"{file_format} is not a test report format")
    try:
        return list(parser(data))
    except (ET.ParseError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ReportFileError(f"not valid {file_format}: {err}") from err


def parse_coverage_file(data: bytes, file_format: str) -> dict[str, float | int]:
    """Lines and branches covered and missed, as botocore's ``CodeCoverageReportSummary``."""
    parser = _COVERAGE_PARSERS.get(file_format)
    if parser is None:
        raise ReportFileError(f"{file_format} is not a code coverage format")
    try:
        lines, branches = parser(data)
    except (ET.ParseError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ReportFileError(f"not valid {file_format}: {err}") from err
    return coverage_summary(lines, branches)


def coverage_summary(lines: tuple[int, int], branches: tuple[int, int]) -> dict:
    """(covered, missed) pairs -> the summary fields, percentages to two decimals."""
    def percent(covered: int, missed: int) -> float:
        return round(100.0 * covered / (covered + missed), 2) if covered + missed else 0.0
    return {"lineCoveragePercentage": percent(*lines), "linesCovered": lines[0],
            "linesMissed": lines[1], "branchCoveragePercentage": percent(*branches),
            "branchesCovered": branches[0], "branchesMissed": branches[1]}


# -- test formats -------------------------------------------------------------------------------


def _xml(data: bytes) -> ET.Element:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ReportFileError("XML with a DOCTYPE or entities is not accepted")
    return ET.fromstring(data)


def _case(suite: str, prefix: str, name: str, status: str, seconds: float | None,
          message: str = "") -> dict:
    case = {"testSuiteName": suite, "prefix": prefix, "name": name, "status": status,
            "durationInNanoSeconds": int((seconds or 0) * 1e9)}
    if message:
        case["message"] = message.strip()[:MAX_MESSAGE]
    return case


def _seconds(text: str | None) -> float:
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0


def _junit(data: bytes) -> Iterator[dict]:
    root = _xml(data)
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for suite in suites:
        for case in suite.findall("testcase"):
            status, message = "SUCCEEDED", ""
            for tag, meaning in (("failure", "FAILED"), ("error", "ERROR"),
                                 ("skipped", "SKIPPED")):
                found = case.find(tag)
                if found is not None:
                    status = meaning
                    message = "\n".join(filter(None, (found.get("message"),
                                                       (found.text or "").strip())))
                    break
            yield _case(suite.get("name", ""), case.get("classname", ""),
                        case.get("name", ""), status, _seconds(case.get("time")), message)


_NUNIT_STATUS = {"passed": "SUCCEEDED", "success": "SUCCEEDED", "failed": "FAILED",
                 "failure": "FAILED", "error": "ERROR", "skipped": "SKIPPED",
                 "ignored": "SKIPPED", "notrunnable": "SKIPPED", "inconclusive": "UNKNOWN"}


def _nunit(data: bytes) -> Iterator[dict]:
    """NUnit 2 and NUnit 3: test-case elements inside test-suite elements."""
    root = _xml(data)

    def walk(element: ET.Element, suite: str) -> Iterator[dict]:
        for child in element:
            if child.tag == "test-suite":
                name = child.get("name", suite) if child.get("type") in (
                    "TestFixture", "ParameterizedFixture") else suite
                yield from walk(child, name)
            elif child.tag == "test-case":
                yield _nunit_case(child, suite)
            else:
                yield from walk(child, suite)

    yield from walk(root, root.get("name", ""))


def _nunit_case(case: ET.Element, suite: str) -> dict:
    result = (case.get("result") or "").lower()
    if case.get("executed", "True").lower() == "false":
        result = "skipped"
    message = case.findtext("failure/message") or case.findtext("reason/message") or ""
    full = case.get("fullname") or case.get("name") or ""
    prefix = case.get("classname") or (full.rsplit(".", 1)[0] if "." in full else "")
    name = case.get("methodname") or full.rsplit(".", 1)[-1]
    return _case(suite, prefix, name, _NUNIT_STATUS.get(result, "UNKNOWN"),
                 _seconds(case.get("duration") or case.get("time")), message)


_TESTNG_STATUS = {"PASS": "SUCCEEDED", "FAIL": "FAILED", "SKIP": "SKIPPED"}


def _testng(data: bytes) -> Iterator[dict]:
    root = _xml(data)
    for suite in root.iter("suite"):
        for cls in suite.iter("class"):
            for method in cls.findall("test-method"):
                if method.get("is-config") == "true":
                    continue
                message = method.findtext("exception/message") or ""
                yield _case(suite.get("name", ""), cls.get("name", ""), method.get("name", ""),
                            _TESTNG_STATUS.get(method.get("status", ""), "UNKNOWN"),
                            _seconds(method.get("duration-ms")) / 1000, message)


_TRX_STATUS = {"Passed": "SUCCEEDED", "Failed": "FAILED", "Error": "ERROR",
               "NotExecuted": "SKIPPED", "Inconclusive": "UNKNOWN", "Timeout": "FAILED",
               "Aborted": "ERROR"}
_TRX_DURATION_RE = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$")


def _trx(data: bytes) -> Iterator[dict]:
    root = _xml(data)
    ns = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
    classes = {test.get("id"): (method.get("className", "")
                                if (method := test.find(f"{ns}TestMethod")) is not None else "")
               for test in root.iter(f"{ns}UnitTest")}
    for result in root.iter(f"{ns}UnitTestResult"):
        match = _TRX_DURATION_RE.match(result.get("duration", ""))
        seconds = (int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])) if match else 0
        message = result.findtext(f"{ns}Output/{ns}ErrorInfo/{ns}Message") or ""
        yield _case(root.get("name", ""), classes.get(result.get("testId"), ""),
                    result.get("testName", ""),
                    _TRX_STATUS.get(result.get("outcome", ""), "UNKNOWN"), seconds, message)


def _cucumber(data: bytes) -> Iterator[dict]:
    for feature in json.loads(data):
        for scenario in feature.get("elements") or []:
            if scenario.get("type") == "background":
                continue
            statuses = [(step.get("result") or {}) for step in scenario.get("steps") or []]
            failed = next((s for s in statuses if s.get("status") == "failed"), None)
            if failed is not None:
                status = "FAILED"
            elif statuses and all(s.get("status") == "passed" for s in statuses):
                status = "SUCCEEDED"
            else:
                status = "SKIPPED"
            nanos = sum(int(s.get("duration") or 0) for s in statuses)
            yield _case(feature.get("name", ""), feature.get("uri", ""),
                        scenario.get("name", ""), status, nanos / 1e9,
                        (failed or {}).get("error_message", ""))


# -- coverage formats ---------------------------------------------------------------------------


def _cobertura(data: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    root = _xml(data)
    lines_valid, lines_covered = int(root.get("lines-valid", 0)), int(root.get(
        "lines-covered", 0))
    branches_valid = int(root.get("branches-valid", 0))
    branches_covered = int(root.get("branches-covered", 0))
    return ((lines_covered, lines_valid - lines_covered),
            (branches_covered, branches_valid - branches_covered))


def _jacoco(data: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    root = _xml(data)
    counters = {c.get("type"): (int(c.get("covered", 0)), int(c.get("missed", 0)))
                for c in root.findall("counter")}
    return counters.get("LINE", (0, 0)), counters.get("BRANCH", (0, 0))


def _clover(data: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    metrics = _xml(data).find("project/metrics")
    if metrics is None:
        raise ReportFileError("no project/metrics element")
    statements, covered = int(metrics.get("statements", 0)), int(metrics.get(
        "coveredstatements", 0))
    conditionals = int(metrics.get("conditionals", 0))
    covered_conditionals = int(metrics.get("coveredconditionals", 0))
    return (covered, statements - covered), (covered_conditionals,
                                             conditionals - covered_conditionals)


def _simplecov(data: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    """SimpleCov's .resultset.json: {command: {"coverage": {file: {"lines": [...]}}}}."""
    covered = missed = 0
    for run in json.loads(data).values():
        for lines in (run.get("coverage") or {}).values():
            counts: list[int | None] = lines["lines"] if isinstance(lines, dict) else lines
            covered += sum(1 for n in counts if n)
            missed += sum(1 for n in counts if n == 0)
    return (covered, missed), (0, 0)


_TEST_PARSERS: dict[str, Callable[[bytes], Iterator[dict]]] = {
    "JUNITXML": _junit, "NUNITXML": _nunit, "NUNIT3XML": _nunit, "TESTNGXML": _testng,
    "VISUALSTUDIOTRX": _trx, "CUCUMBERJSON": _cucumber}
_COVERAGE_PARSERS = {"COBERTURAXML": _cobertura, "JACOCOXML": _jacoco, "CLOVERXML": _clover,
                     "SIMPLECOV": _simplecov}
