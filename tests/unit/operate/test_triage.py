"""Failure classification, failing command, first error and excerpt: pure functions over
realistic CodeBuild log snippets, one table row per class."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.operate import log_text, triage, triage_scan
from runbook_lib.operate.log_text import BuildLog

C = "[Container] 2026/11/27 11:01:25.010355 "


def _log(lines, status="FAILED", code="COMMAND_EXECUTION_ERROR", context="", phase="BUILD"):
    return BuildLog("p:1", status, "g", "s", list(lines), phase, context, status_code=code)


CASES = [
    ("node test failure", ["TAP version 13", "# Subtest: greets by name",
                           "not ok 1 - greets by name", "# fail 1"],
     "npm test", 1, "FAILED", "", "test_failure", "failing tests: greets by name"),
    ("pytest failure", ["=== short test summary info ===",
                        "FAILED tests/test_app.py::test_greeting - AssertionError",
                        "==== 1 failed, 4 passed in 0.31s ===="],
     "pytest -q", 1, "FAILED", "", "test_failure",
     "failing tests: tests/test_app.py::test_greeting"),
    ("npm ci lockfile mismatch", [
        "npm ERR! code EUSAGE",
        "npm ERR! `npm ci` can only install packages when your package.json and "
        "package-lock.json or npm-shrinkwrap.json are in sync."],
     "npm ci", 1, "FAILED", "", "dependency_install", ""),
    ("npm version not found", ["npm ERR! code ETARGET",
                               "npm ERR! notarget No matching version found for left-pad@9.9.9."],
     "npm install", 1, "FAILED", "", "dependency_install", ""),
    ("pip resolution", ["ERROR: Could not find a version that satisfies the requirement "
                        "requestz==2.0", "ERROR: No matching distribution found for requestz"],
     "pip install -r requirements.txt", 1, "FAILED", "", "dependency_install", ""),
    ("pip refused by PEP 668", [
        "error: externally-managed-environment", "",
        "\u00d7 This environment is externally managed",
        "\u2570\u2500> To install Python packages system-wide, try apt install"],
     "pip install -r requirements.txt", 1, "FAILED", "", "python_environment", ""),
    ("install command without telling line", ["some output"], "yarn install", 1, "FAILED",
     "", "dependency_install", ""),
    ("docker daemon", ["Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                       "Is the docker daemon running?"],
     "docker build -t app .", 1, "FAILED", "", "docker_registry", ""),
    ("registry login", ["Error response from daemon: Get https://1234.dkr.ecr.us-east-1."
                        "amazonaws.com/v2/: no basic auth credentials"],
     "docker push app", 1, "FAILED", "", "docker_registry", ""),
    ("registry denied", ["denied: requested access to the resource is denied"],
     "docker push app", 1, "FAILED", "", "docker_registry", ""),
    ("access denied names the action", [
        "upload failed: dist/index.html to s3://site/index.html An error occurred "
        "(AccessDenied) when calling the PutObject operation: User: "
        "arn:aws:sts::123456789012:assumed-role/build/AWSCodeBuild-1 is not authorized to "
        "perform: s3:PutObject on resource: \"arn:aws:s3:::site/index.html\" because no "
        "identity-based policy allows the s3:PutObject action"],
     "aws s3 cp dist s3://site --recursive", 1, "FAILED", "", "access_denied",
     "missing s3:PutObject on arn:aws:s3:::site/index.html"),
    ("access denied without the action", [
        "An error occurred (AccessDeniedException) when calling the GetParameter operation"],
     "aws ssm get-parameter --name x", 254, "FAILED", "", "access_denied",
     "AccessDeniedException: the log does not name the action"),
    ("timeout by status", ["still compiling..."], "", None, "TIMED_OUT", "BUILD_TIMED_OUT",
     "timeout", ""),
    ("node heap", ["<--- JS stacktrace --->",
                   "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of "
                   "memory"], "npm run build", 134, "FAILED", "", "out_of_memory", ""),
    ("killed 137", ["Killed"], "npm test", 137, "FAILED", "", "out_of_memory", ""),
    ("unknown", ["make: *** [all] Error 2"], "make", 2, "FAILED", "", "unknown", ""),
]


@pytest.mark.parametrize("case, lines, command, code, status, status_code, category, detail",
                         CASES, ids=[c[0] for c in CASES])
def test_classification_and_next_step(case, lines, command, code, status, status_code,
                                      category, detail):
    context = (f"Error while executing command: {command}. Reason: exit status {code}"
               if command else "Build has timed out")
    log = _log(lines, status, status_code or "COMMAND_EXECUTION_ERROR", context)
    result = triage.triage_build(log)
    assert (result.command, result.exit_code) == ((command, code) if command else ("", None))
    assert result.category == category
    assert result.detail == detail
    assert result.next_step


def test_access_denied_next_step_names_the_missing_action():
    line = ("User: arn:aws:sts::1:assumed-role/r/x is not authorized to perform: "
            "ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:1:repository/app")
    result = triage.triage_build(_log([f"denied: {line}"]))
    assert result.category == "access_denied"
    assert result.next_step.startswith("Grant ecr:InitiateLayerUpload on "
                                       "arn:aws:ecr:us-east-1:1:repository/app to the CodeBuild")


@pytest.mark.parametrize("context, expected", [
    ("Error while executing command: npm test. Reason: exit status 1", ("npm test", 1)),
    ("Error while executing command: python -m pytest -k 'a. b'. Reason: exit status 5",
     ("python -m pytest -k 'a. b'", 5)),
    ("Build has timed out", ("", None)),
    ("", ("", None)),
])
def test_parse_failing_command(context, expected):
    assert triage.parse_failing_command(context) == expected


@pytest.mark.parametrize("case, lines, index", [
    ("command output before agent lines", [C + "Running command npm test", "ok 1 - a",
                                           "not ok 2 - b",
                                           C + "Command did not exit successfully npm test "
                                           "exit status 1"], 2),
    ("agent line when nothing else", ["fine", C + "Command did not exit successfully false "
                                      "exit status 1"], 1),
    ("zero counts are not errors", ["0 errors", "# fail 0", "TypeError: x is undefined"], 2),
    ("nothing", ["all good"], None),
    ("pip's error code line, not a YAML key", [C + "Running command pip install -r r.txt",
                                              "error: externally-managed-environment", "",
                                              C + "Command did not exit successfully pip"], 1),
    ("a YAML-ish error key is not an error", ["error: none", "code: 0", "Error: boom"], 2),
])
def test_first_error_index(case, lines, index):
    assert log_text.first_error_index(lines) == index, case


@pytest.mark.parametrize("index, context, numbers", [
    (5, 2, [4, 5, 6, 7, 8]), (0, 3, [1, 2, 3, 4]), (9, 3, [7, 8, 9, 10]), (4, 0, [5]),
])
def test_excerpt_is_clipped_at_both_ends(index, context, numbers):
    lines = [f"line {i + 1}" for i in range(10)]
    assert [n for n, _ in log_text.excerpt(lines, index, context)] == numbers


def test_report_marks_the_error_line_and_hides_the_source_dir():
    log = _log(["start", "  at /codebuild/output/src1/src/app/test.js:3", "not ok 1 - a", "end"],
               context="Error while executing command: npm test. Reason: exit status 1")
    log.source_dir = "/codebuild/output/src1/src/app"
    text = triage.render_text(triage.triage_build(log, 1))
    assert ">    3 | not ok 1 - a" in text
    assert "$CODEBUILD_SRC_DIR/test.js:3" in text and "/codebuild/output" not in text
    assert "classification   test failure" in text


def test_succeeded_build_has_nothing_to_fix():
    result = triage.triage_build(_log(["ok 1 - a"], status="SUCCEEDED", code=""))
    assert (result.category, result.excerpt) == ("none", [])


def _scan_in_pages(lines, page, context):
    scanner = triage_scan.LogScanner(context)
    for start in range(0, len(lines), page):
        scanner.feed(lines[start:start + page])
    return scanner.result()


@pytest.mark.parametrize("page", [1, 2, 3, 7, 1000], ids=lambda p: f"page of {p}")
@pytest.mark.parametrize("error_at", [0, 1, 5, 18, 19])
def test_excerpt_is_the_same_whatever_the_page_boundaries(page, error_at):
    lines = [f"step {i} ok" for i in range(20)]
    lines[error_at] = "TypeError: x is undefined"
    scan = _scan_in_pages(lines, page, 3)
    assert scan.error.index == error_at
    assert [i for i, _, _ in scan.error.lines] == [n - 1 for n, _ in
                                                   log_text.excerpt(lines, error_at, 3)]
    assert [text for _, text, _ in scan.error.lines] == [
        text for _, text in log_text.excerpt(lines, error_at, 3)]


def test_a_later_command_error_beats_an_earlier_agent_line_across_pages():
    lines = ([C + "Command did not exit successfully x exit status 1"]
             + [f"line {i}" for i in range(30)] + ["Error: boom"])
    scan = _scan_in_pages(lines, 4, 2)
    assert scan.error.index == len(lines) - 1
    assert [text for _, text, _ in scan.error.lines] == ["line 28", "line 29", "Error: boom"]


def test_only_shown_lines_are_redacted_and_key_blocks_stay_masked_across_pages():
    key = "AKIA" + "Q" * 12 + "7XYZ"
    lines = ["-----BEGIN RSA PRIVATE KEY-----", "MIIEow", "-----END RSA PRIVATE KEY-----",
             f"uploading with {key}", "Error: upload failed"]
    result = triage.triage_scan(_log([]), _scan_in_pages(lines, 2, 3))
    assert [text for _, text in result.excerpt] == ["***", "***", "uploading with ***",
                                                     "Error: upload failed"]


def test_every_line_a_pattern_matches_holds_a_prefilter_keyword():
    """The scanner tests only lines holding a keyword: none of the table's telling lines may
    lack one, or triage would miss it."""
    from runbook_lib.operate import log_text, triage_names, triage_rules, triage_scan

    lines = [line for case in CASES for line in case[1]] + [
        "Tests:  3 failed, 9 passed", "--- FAIL: TestAdd", "OOMKilled", "Killed",
        C + "CODEBUILD_SRC_DIR=/codebuild/output/src1/src", "Your lockfile needs to be updated",
        "Tests run: 5, Failures: 2", "docker: command not found", "toomanyrequests: slow down"]
    corpus = Path(__file__).parents[2] / "fixtures" / "triage_corpus"
    for log in sorted(corpus.glob("*.log")):  # real runners' output (test_triage_corpus.py)
        lines += log.read_text().splitlines()
    for line in lines:
        telling = (log_text.error_kind(line) or log_text.failing_test_name(line)
                   or log_text.source_dir_in(line) or triage_names.error_header(line)
                   or triage_names.block_test_names([line], 0) or triage_names.jest_file(line)
                   or any(p.search(line) for p in triage_rules.RULE_PATTERNS))
        if telling:
            assert any(k in line.lower() for k in triage_scan.KEYWORDS), line


@pytest.mark.parametrize("status, phase, code, context, category, detail", [
    ("FAULT", "BUILD", "INTERNAL_ERROR", "Internal service error", "service_fault",
     "Internal service error"),
    ("FAILED", "DOWNLOAD_SOURCE", "YAML_FILE_ERROR",
     "YAML_FILE_ERROR: stat /codebuild/output/src1/src/buildspec.yml: no such file or "
     "directory", "buildspec_error",
     "YAML_FILE_ERROR: stat /codebuild/output/src1/src/buildspec.yml: no such file or "
     "directory"),
    ("FAILED", "DOWNLOAD_SOURCE", "CLIENT_ERROR",
     "error while downloading key app/source.zip, error: NoSuchKey", "source_download",
     "error while downloading key app/source.zip, error: NoSuchKey"),
    ("FAILED", "UPLOAD_ARTIFACTS", "CLIENT_ERROR", "no matching artifact paths found",
     "artifact_upload", "no matching artifact paths found"),
])
def test_record_decides_fault_buildspec_and_source_failures(status, phase, code, context,
                                                            category, detail):
    """No command ran (or CodeBuild broke): the phase context message is the only cause."""
    result = triage.triage_build(_log([C + "Phase is DOWNLOAD_SOURCE", "Error: whatever"],
                                      status, code, context, phase))
    assert (result.category, result.detail) == (category, detail)
    assert result.next_step and result.detail in triage.render_text(result)
    if category == "service_fault":
        assert "retry" in result.next_step


def test_exit_127_is_a_missing_command_not_a_test_failure():
    lines = ["> app@1.0.0 test", "> jest", "", "sh: 1: jest: not found"]
    result = triage.triage_build(_log(lines, context="Error while executing command: npm "
                                      "test. Reason: exit status 127"))
    assert result.category == "command_not_found"
    assert result.error_line == "sh: 1: jest: not found"
    assert "devDependencies" in result.next_step


@pytest.mark.parametrize("lines, names", [
    (["FAIL src/a.test.ts", "  ● Test suite failed to run", "", "    Cannot find module 'x'"],
     ["src/a.test.ts"]),
    (["  ● Console", "", "    console.log", "  ● adds › two numbers", "", "    expect(1)"],
     ["adds › two numbers"]),
    (["TAP version 13", "# pads numbers", "not ok 3 should be equal"], ["pads numbers"]),
    (["not ok 3 should be equal"], ["should be equal"]),
    (["FAIL: test_x (pkg.tests.T)"], ["pkg.tests.T.test_x"]),
    (["FAILED (failures=2)"], []),
    (["    --- FAIL: TestParse/empty (0.00s)"], ["TestParse/empty"]),
    (["  2 failing", "", "  1) parser", "       parses:", "     Error: x", "",
      "  2) parser reads:", "     Error: y"], ["parser parses", "parser reads"]),
])
def test_failing_test_names_of_each_runner(lines, names):
    assert triage.scan_lines(lines).failing_tests == names
