"""CodeBuild report groups, reports and test cases, served by the local AWS itself.

moto has no report API, so this extension serves CreateReportGroup, BatchGetReportGroups,
ListReportGroups, DeleteReportGroup, ListReports, ListReportsForReportGroup, BatchGetReports,
DescribeTestCases and DescribeCodeCoverages in botocore's shapes, with botocore's paginators
(nextToken, maxResults). Builds add reports through :meth:`CodeBuildReports.add_report` when
their buildspec declares ``reports`` (see :mod:`.build_reports`). A buildspec report group
given by name becomes ``<project>-<name>``, created on first use, as CodeBuild names them
(test-report-group-naming.html). Groups and report summaries live in one JSON document; the
test cases of each report in a file of their own.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild.projects import ACCOUNT_ID
from runbook_lib.local.server.paging import (
    CODEBUILD,
    PageRule,
    batch_members,
    found_and_missing,
    page,
)
from runbook_lib.local.server.store import JsonStore, StoreWriteError, write_atomic
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

REPORT_TYPES = ("TEST", "CODE_COVERAGE")
CASES_DIR = "codebuild-reports"
LIST_REPORT_GROUPS = PageRule("ListReportGroups", "reportGroups", CODEBUILD)
LIST_REPORTS = PageRule("ListReports", "reports", CODEBUILD)
LIST_REPORTS_FOR_REPORT_GROUP = PageRule("ListReportsForReportGroup", "reports", CODEBUILD)
DESCRIBE_TEST_CASES = PageRule("DescribeTestCases", "testCases", CODEBUILD)
DESCRIBE_CODE_COVERAGES = PageRule("DescribeCodeCoverages", "codeCoverages", CODEBUILD)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_]{1,127}$")


class CodeBuildReports:
    """Report groups and reports; see the module docstring."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codebuild-reports.json",
                               {"groups": {}, "reports": {}})
        self.cases_dir = ctx.state_dir / CASES_DIR

    def routes(self):
        ops = {"CreateReportGroup": self.create_report_group,
               "BatchGetReportGroups": self.batch_get_report_groups,
               "ListReportGroups": self.list_report_groups,
               "DeleteReportGroup": self.delete_report_group,
               "ListReports": self.list_reports,
               "ListReportsForReportGroup": self.list_reports_for_report_group,
               "BatchGetReports": self.batch_get_reports,
               "DescribeTestCases": self.describe_test_cases,
               "DescribeCodeCoverages": self.describe_code_coverages}
        return {("codebuild", op): handler for op, handler in ops.items()}

    # -- operations -----------------------------------------------------------------------

    def create_report_group(self, request: Request) -> Response:
        body = request.json()
        name, kind = body.get("name", ""), body.get("type", "")
        if not _NAME_RE.match(name):
            raise AwsError("InvalidInputException", f"Invalid report group name: {name}")
        if kind not in REPORT_TYPES:
            raise AwsError("InvalidInputException", f"Invalid report group type: {kind}")
        arn = group_arn(request.region, name)
        with self.store.lock:
            if arn in self._groups(request.region):
                raise AwsError("ResourceAlreadyExistsException",
                               f"Report group with name {name} already exists")
            group = self._new_group(request.region, name, kind, body)
        return json_response({"reportGroup": group})

    def batch_get_report_groups(self, request: Request) -> Response:
        arns = batch_members(request.json(), "reportGroupArns", "ARNs")
        with self.store.lock:
            groups = self._groups(request.region)
            found, missing = found_and_missing(arns, lambda a: copy.deepcopy(groups.get(a)))
        return json_response({"reportGroups": found, "reportGroupsNotFound": missing})

    def list_report_groups(self, request: Request) -> Response:
        body = request.json()
        sort_by = {"NAME": "name", "CREATED_TIME": "created",
                   "LAST_MODIFIED_TIME": "lastModified"}.get(body.get("sortBy", "CREATED_TIME"))
        if sort_by is None:
            raise AwsError("InvalidInputException", f"Invalid sortBy {body.get('sortBy')}")
        with self.store.lock:
            groups = sorted(self._groups(request.region).values(),
                            key=lambda g: (g[sort_by], g["arn"]),
                            reverse=_descending(body))
        return json_response(page([g["arn"] for g in groups], body, LIST_REPORT_GROUPS))

    def delete_report_group(self, request: Request) -> Response:
        body = request.json()
        arn = body.get("arn", "")
        with self.store.lock:
            groups = self._groups(request.region)
            if arn not in groups:
                raise AwsError("ResourceNotFoundException", f"Report group {arn} not found")
            reports = self._reports(request.region)
            mine = [a for a, r in reports.items() if r["reportGroupArn"] == arn]
            if mine and not body.get("deleteReports"):
                raise AwsError("InvalidInputException", "Report group has reports; set "
                               "deleteReports to delete them too")
            for report_arn in mine:
                del reports[report_arn]
                self._cases_path(report_arn).unlink(missing_ok=True)
            del groups[arn]
            self.store.save()
        return json_response({})

    def list_reports(self, request: Request) -> Response:
        return self._list_reports(request, None)

    def list_reports_for_report_group(self, request: Request) -> Response:
        arn = request.json().get("reportGroupArn", "")
        with self.store.lock:
            if arn not in self._groups(request.region):
                raise AwsError("ResourceNotFoundException", f"Report group {arn} not found")
        return self._list_reports(request, arn)

    def batch_get_reports(self, request: Request) -> Response:
        arns = batch_members(request.json(), "reportArns", "ARNs")
        with self.store.lock:
            reports = self._reports(request.region)
            found, missing = found_and_missing(arns, lambda a: copy.deepcopy(reports.get(a)))
        return json_response({"reports": found, "reportsNotFound": missing})

    def describe_test_cases(self, request: Request) -> Response:
        body = request.json()
        cases = self._report_cases(request.region, body.get("reportArn", ""), "TEST")
        wanted = (body.get("filter") or {}).get("status")
        keyword = ((body.get("filter") or {}).get("keyword") or "").lower()
        cases = [c for c in cases if (not wanted or c["status"] == wanted)
                 and (not keyword or keyword in json.dumps(c).lower())]
        return json_response(page(cases, body, DESCRIBE_TEST_CASES))

    def describe_code_coverages(self, request: Request) -> Response:
        body = request.json()
        entries = self._report_cases(request.region, body.get("reportArn", ""),
                                     "CODE_COVERAGE")
        return json_response(page(entries, body, DESCRIBE_CODE_COVERAGES))

    # -- builds ---------------------------------------------------------------------------

    def add_report(self, region: str, project: str, group: str, kind: str, build_arn: str,
                   cases: list[dict], coverage: dict | None, status: str) -> str:
        """Record one build's report in ``group`` (a name or an ARN); returns its ARN."""
        with self.store.lock:
            arn = group if group.startswith("arn:") else group_arn(region, f"{project}-{group}")
            existing = self._groups(region).get(arn)
            if existing is None:
                if group.startswith("arn:"):
                    raise KeyError(f"report group {group} does not exist")
                existing = self._new_group(region, arn.rsplit("/", 1)[1], kind, {})
            if existing["type"] != kind:
                raise KeyError(f"report group {arn} holds {existing['type']} reports, not "
                               f"{kind}")
            report = _report(arn, kind, build_arn, cases, coverage, status)
            self._write_cases(report["arn"], [{**c, "reportArn": report["arn"]} for c in cases]
                              if kind == "TEST" else [coverage or {}])
            self._reports(region)[report["arn"]] = report
            existing["lastModified"] = report["created"]
            self.store.save()
        return report["arn"]

    # -- internals ------------------------------------------------------------------------

    def _new_group(self, region: str, name: str, kind: str, body: dict) -> dict:
        now = time.time()
        group: dict[str, Any] = {"arn": group_arn(region, name), "name": name, "type": kind,
                 "exportConfig": body.get("exportConfig") or {"exportConfigType": "NO_EXPORT"},
                 "created": now, "lastModified": now, "tags": body.get("tags") or [],
                 "status": "ACTIVE"}
        self._groups(region)[group["arn"]] = group
        self.store.save()
        return copy.deepcopy(group)

    def _list_reports(self, request: Request, group: str | None) -> Response:
        body = request.json()
        wanted = (body.get("filter") or {}).get("status")
        with self.store.lock:
            reports = [r for r in self._reports(request.region).values()
                       if (group is None or r["reportGroupArn"] == group)
                       and (not wanted or r["status"] == wanted)]
        reports.sort(key=lambda r: (r["created"], r["arn"]), reverse=_descending(body))
        rule = LIST_REPORTS if group is None else LIST_REPORTS_FOR_REPORT_GROUP
        return json_response(page([r["arn"] for r in reports], body, rule))

    def _report_cases(self, region: str, arn: str, kind: str) -> list[dict]:
        with self.store.lock:
            report = self._reports(region).get(arn)
        if report is None:
            raise AwsError("ResourceNotFoundException", f"Report {arn} not found")
        if report["type"] != kind:
            raise AwsError("InvalidInputException", f"Report {arn} is a {report['type']} "
                           "report")
        try:
            return json.loads(self._cases_path(arn).read_text())
        except (OSError, ValueError):
            return []

    def _write_cases(self, arn: str, cases: list[dict]) -> None:
        """A report's cases, on disk (atomic, synced) before the report is recorded; a failed
        write raises StoreWriteError and records nothing."""
        path = self._cases_path(arn)
        try:
            write_atomic(path, json.dumps(cases).encode())
        except OSError as err:
            raise StoreWriteError(path, err) from err

    def _cases_path(self, arn: str):
        return self.cases_dir / f"{hashlib.sha256(arn.encode()).hexdigest()[:32]}.json"

    def _groups(self, region: str) -> dict[str, dict]:
        return self.store.data["groups"].setdefault(region, {})

    def _reports(self, region: str) -> dict[str, dict]:
        return self.store.data["reports"].setdefault(region, {})


def group_arn(region: str, name: str) -> str:
    return f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:report-group/{name}"


def _report(group: str, kind: str, build_arn: str, cases: list[dict], coverage: dict | None,
            status: str) -> dict:
    name = group.rsplit("/", 1)[1]
    now = time.time()
    report = {"arn": f"{group.replace(':report-group/', ':report/')}:{uuid.uuid4()}",
              "type": kind, "name": name, "reportGroupArn": group, "executionId": build_arn,
              "status": status, "created": now, "expired": now + 30 * 86400,
              "exportConfig": {"exportConfigType": "NO_EXPORT"}, "truncated": False}
    if kind == "TEST":
        counts: dict[str, int] = {}
        for case in cases:
            counts[case["status"]] = counts.get(case["status"], 0) + 1
        report["testSummary"] = {"total": len(cases), "statusCounts": counts,
                                 "durationInNanoSeconds": sum(c["durationInNanoSeconds"]
                                                              for c in cases)}
    else:
        report["codeCoverageSummary"] = coverage or {}
    return report


def _descending(body: dict) -> bool:
    order = body.get("sortOrder", "DESCENDING")
    if order not in ("ASCENDING", "DESCENDING"):
        raise AwsError("InvalidInputException", f"Invalid sortOrder {order}")
    return order == "DESCENDING"
