"""A build's ``reports`` section turned into CodeBuild reports (test or code coverage).

After the command phases the runner hands each report group's files to the parsers
(:mod:`.report_parsers`) and the cases to the local report service (:mod:`.reports`). A
report whose tests all passed is SUCCEEDED; one with a failed or erroring test is FAILED, as
CodeBuild shows it; a file that cannot be read in the declared format makes the report
INCOMPLETE (and says which file in the build log). A group whose patterns match no file gets no
report, as in CodeBuild, with a log line. Reports are made even when the build failed: a red
build is when they matter most.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runbook_lib.buildspec.model import Artifacts, Buildspec, ReportGroup
from runbook_lib.local.codebuild.outputs import ArtifactError, collect_artifact_files
from runbook_lib.local.codebuild.report_parsers import (
    ReportFileError,
    coverage_summary,
    parse_coverage_file,
    parse_test_file,
)
from runbook_lib.local.server.store import StoreWriteError

# add_report(group name or ARN, type, cases, coverage summary, status) -> report ARN
AddReport = Callable[[str, str, list[dict], "dict | None", str], str]


def publish_reports(spec: Buildspec, src_dir: Path, add_report: AddReport,
                    log: Callable[[str], None],
                    hide: Callable[[str], str] = lambda text: text) -> list[str]:
    """Report ARNs made for the buildspec's report groups (in the buildspec's order).

    ``hide`` masks the build's secret values in test messages, as in its log."""
    arns = []
    for name, group in spec.reports.items():
        try:
            files = collect_artifact_files(src_dir, Artifacts(
                files=group.files, base_directory=group.base_directory))
        except ArtifactError:
            log(f"Report group {name}: no report files match {', '.join(group.files)}; "
                "no report")
            continue
        log(f"Preparing to upload {_kind(group)} report group {name}: {len(files)} file(s)")
        try:
            arn = _publish_group(name, group, files, add_report, log, hide)
        except KeyError as err:
            log(f"Report group {name}: {err.args[0]}; no report")
            continue
        except StoreWriteError as err:  # a full disk: the build goes on, without this report
            log(f"Report group {name}: {err.message}; no report")
            continue
        arns.append(arn)
    return arns


def _publish_group(name: str, group: ReportGroup, files: dict[str, Path],
                   add_report: AddReport, log: Callable[[str], None],
                   hide: Callable[[str], str]) -> str:
    kind = _kind(group)
    cases: list[dict] = []
    lines, branches = [0, 0], [0, 0]
    status = "SUCCEEDED"
    for rel, path in sorted(files.items()):
        try:
            data = path.read_bytes()
            if kind == "TEST":
                cases += [{**case, "testRawDataPath": rel,
                           **({"message": hide(case["message"])} if "message" in case else {})}
                          for case in parse_test_file(data, group.file_format)]
            else:
                summary = parse_coverage_file(data, group.file_format)
                lines = [lines[0] + int(summary["linesCovered"]),
                         lines[1] + int(summary["linesMissed"])]
                branches = [branches[0] + int(summary["branchesCovered"]),
                            branches[1] + int(summary["branchesMissed"])]
        except (OSError, ReportFileError) as err:
            log(f"Report group {name}: {rel} is not {group.file_format} ({err})")
            status = "INCOMPLETE"
    if kind == "TEST" and status == "SUCCEEDED" and any(
            c["status"] in ("FAILED", "ERROR") for c in cases):
        status = "FAILED"
    coverage = (coverage_summary((lines[0], lines[1]), (branches[0], branches[1]))
                if kind != "TEST" else None)
    arn = add_report(name, kind, cases, coverage, status)
    log(f"Report group {name}: report {status}" + (
        f", {len(cases)} test cases" if coverage is None else
        f", line coverage {coverage['lineCoveragePercentage']}%"))
    return arn


def _kind(group: ReportGroup) -> str:
    return "CODE_COVERAGE" if group.is_coverage else "TEST"
