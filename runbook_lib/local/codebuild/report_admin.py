"""Report housekeeping and trends: ``UpdateReportGroup``, ``DeleteReport``, ``GetReportGroupTrend``.

They work on the report store of :mod:`reports` (the groups and reports builds produce).
GetReportGroupTrend computes AWS's statistics (average, max, min as strings) over the group's
latest ``numOfReports`` reports (default 100) for one field: pass rate, duration and totals
from test reports, coverage figures from code coverage reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild.reports import CodeBuildReports
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

_COVERAGE = {"LINE_COVERAGE": "lineCoveragePercentage", "LINES_COVERED": "linesCovered",
             "LINES_MISSED": "linesMissed", "BRANCH_COVERAGE": "branchCoveragePercentage",
             "BRANCHES_COVERED": "branchesCovered", "BRANCHES_MISSED": "branchesMissed"}
TREND_FIELDS = ("PASS_RATE", "DURATION", "TOTAL", *_COVERAGE)


class CodeBuildReportAdmin:
    """The three operations, over the reports extension's store and lock."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx

    def routes(self):
        return {("codebuild", "UpdateReportGroup"): self.update_report_group,
                ("codebuild", "DeleteReport"): self.delete_report,
                ("codebuild", "GetReportGroupTrend"): self.get_report_group_trend}

    @property
    def reports(self) -> CodeBuildReports:
        return self.ctx.peers.get(CodeBuildReports)

    def update_report_group(self, request: Request) -> Response:
        body = request.json()
        arn = body.get("arn", "")
        with self.reports.store.transaction():
            group = self.reports._groups(request.region).get(arn)
            if group is None:
                raise AwsError("ResourceNotFoundException", f"Report group {arn} not found")
            if body.get("exportConfig"):
                group["exportConfig"] = body["exportConfig"]
            if body.get("tags") is not None:
                group["tags"] = body["tags"]
            answer = dict(group)
        return json_response({"reportGroup": answer})

    def delete_report(self, request: Request) -> Response:
        """AWS answers success whether or not the report exists."""
        arn = request.json().get("arn", "")
        with self.reports.store.transaction():
            if self.reports._reports(request.region).pop(arn, None) is not None:
                self.reports._cases_path(arn).unlink(missing_ok=True)
        return json_response({})

    def get_report_group_trend(self, request: Request) -> Response:
        body = request.json()
        arn, field = body.get("reportGroupArn", ""), body.get("trendField")
        if field not in TREND_FIELDS:
            raise AwsError("InvalidInputException", f"trendField must be one of "
                                                    f"{', '.join(TREND_FIELDS)}")
        count = body.get("numOfReports") or 100
        if not isinstance(count, int) or not 1 <= count <= 100:
            raise AwsError("InvalidInputException", "numOfReports must be between 1 and 100")
        with self.reports.store.lock:
            if arn not in self.reports._groups(request.region):
                raise AwsError("ResourceNotFoundException", f"Report group {arn} not found")
            mine = sorted((r for r in self.reports._reports(request.region).values()
                           if r["reportGroupArn"] == arn),
                          key=lambda r: r["created"], reverse=True)[:count]
            raw = [(r["arn"], _value(r, field)) for r in mine]
        values = [v for _, v in raw if v is not None]
        stats = ({"average": _text(sum(values) / len(values)), "max": _text(max(values)),
                  "min": _text(min(values))} if values else {})
        return json_response({"stats": stats, "rawData": [
            {"reportArn": a, "data": _text(v)} for a, v in raw if v is not None]})


def _value(report: dict[str, Any], field: str) -> float | None:
    if field in _COVERAGE:
        value = (report.get("codeCoverageSummary") or {}).get(_COVERAGE[field])
        return float(value) if value is not None else None
    summary = report.get("testSummary")
    if not summary:
        return None
    if field == "TOTAL":
        return float(summary.get("total", 0))
    if field == "DURATION":
        return float(summary.get("durationInNanoSeconds", 0))
    total = summary.get("total", 0)
    passed = (summary.get("statusCounts") or {}).get("SUCCEEDED", 0)
    return 100.0 * passed / total if total else 0.0


def _text(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
