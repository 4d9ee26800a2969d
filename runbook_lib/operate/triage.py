"""Why did a build fail, and what to do next: classification, failing command, excerpt.

Pure functions over a :class:`.logs.BuildLog`; nothing here calls AWS. The classes
are checked in a fixed order (a timeout or an out-of-memory kill explains whatever the tests
printed while dying; a named missing permission beats a generic registry "denied").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbook_lib.operate import build_status
from runbook_lib.operate.logs import BuildLog, failing_tests

_COMMAND = re.compile(r"Error while executing command: (?P<command>.*?)\.? Reason: exit status "
                      r"(?P<code>-?\d+)")
_ERROR_LINE = re.compile(
    r"^\s*not ok \d+|^FAILED |\bERR!|\bnpm error\b|\b(?:[A-Za-z]*Error|ERROR|error|Exception)\b"
    r"[:\s]|^\s*(?:fatal|FATAL)\b|\bdenied\b|\bDenied\b|^Killed\b|^Traceback|"
    r"\bis not authorized\b|Cannot connect to the Docker daemon|out of memory|"
    r"Command did not exit successfully")
_NOT_ERROR = re.compile(r"\b0 (?:errors?|failed)\b|^# fail 0\b|^\s*(?:error|code|name): ")
_AGENT = re.compile(r"^\[Container\] ")
_ACCESS = re.compile(r"is not authorized to perform: (?P<action>[\w-]+:[\w*]+)"
                     r"(?: on resource: ?\"?(?P<resource>[^\s\"]+))?")
_ACCESS_CODE = re.compile(r"\((?P<code>AccessDenied\w*|UnauthorizedOperation|"
                          r"AuthorizationError)\)|\bAccessDenied(?:Exception)?\b")


@dataclass(frozen=True)
class Rule:
    category: str
    title: str
    next_step: str
    patterns: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # build status or failed-phase context code
    exit_codes: tuple[int, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule("timeout", "build timed out",
         "Find the command that hung (the last lines before the timeout); if the build is just "
         "slow, raise the project's timeoutInMinutes (notebook 05_build_project).",
         (r"Build has timed out", r"\bBUILD_TIMED_OUT\b"), ("TIMED_OUT", "BUILD_TIMED_OUT")),
    Rule("out_of_memory", "out of memory",
         "Give the build more memory: a larger computeType (notebook 05_build_project), or cap "
         "the tool's heap (NODE_OPTIONS=--max-old-space-size=...).",
         (r"JavaScript heap out of memory", r"^Killed\b", r"\bOOMKilled\b", r"\bMemoryError\b",
          r"Cannot allocate memory", r"\bout of memory\b"), exit_codes=(137,)),
    Rule("access_denied", "access denied",
         "Grant the missing action to the CodeBuild service role (notebook 03_iam_roles), "
         "scoped to the resource named, then retry the stage.",
         (r"is not authorized to perform", r"\bAccessDenied", r"\bUnauthorizedOperation\b",
          r"\bAuthorizationError\b")),
    Rule("docker_registry", "Docker or registry login",
         "Docker builds need privilegedMode on the build project (notebook 05_build_project); "
         "log in to the registry in pre_build with `aws ecr get-login-password | docker login "
         "--username AWS --password-stdin <registry>`; check the image name and tag.",
         (r"Cannot connect to the Docker daemon", r"ecr get-login-password",
          r"no basic auth credentials", r"^denied: ", r"pull access denied",
          r"toomanyrequests", r"unauthorized: authentication required",
          r"docker: command not found", r"Error response from daemon")),
    Rule("dependency_install", "dependency install",
         "Make the lockfile match the manifest (run `npm install` or `pip-compile` locally and "
         "commit the lockfile), check the package and version exist, and that the build can "
         "reach the registry (VPC, NAT, proxy).",
         (r"`npm ci` can only install", r"npm (?:ERR!|error) code (?:ERESOLVE|ETARGET|E404|"
          r"EUSAGE|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|EINTEGRITY|E401|E403)",
          r"lock file'?s? .* (?:does not satisfy|out of sync)", r"Missing: .* from lock file",
          r"Could not find a version that satisfies", r"No matching distribution found",
          r"ERROR: Could not install packages", r"Your lockfile needs to be updated",
          r"pyproject\.toml changed significantly since poetry\.lock",
          r"ResolutionImpossible", r"ModuleNotFoundError: No module named")),
    Rule("test_failure", "test failure",
         "Run the failing tests locally, fix the code or the test, and push; this run stopped "
         "before deploying anything.",
         (r"^\s*not ok \d+ - ", r"^FAILED \S+", r"^# fail [1-9]", r"Tests:\s+\d+ failed",
          r"^=+ .*\d+ failed", r"^--- FAIL: ", r"Tests run: .*Failures: [1-9]")),
)

UNKNOWN = Rule("unknown", "unknown",
               "Read the excerpt around the first error and the failing command; re-run the "
               "command locally, or retry the stage if the failure looks transient.")

_INSTALL_COMMAND = re.compile(r"^(?:npm (?:ci|install|i)\b|yarn(?: install)?\b|pnpm install|"
                              r"pip3? install|python3? -m pip install|poetry install|"
                              r"bundle install|go mod download)")
_TEST_COMMAND = re.compile(r"^(?:npm (?:run )?test|yarn test|pnpm test|pytest|python3? -m "
                           r"pytest|go test|mvn (?:-\S+ )*(?:test|verify)|gradle test|"
                           r"\./gradlew test|node --test)\b")


@dataclass
class Triage:
    """What went wrong in one build, for the operator: where, what, why, what next."""

    build_id: str
    status: str
    failed_phase: str = ""
    command: str = ""
    exit_code: int | None = None
    category: str = "unknown"
    title: str = "unknown"
    next_step: str = ""
    detail: str = ""  # failing tests, or the missing action and resource
    failing_tests: list[str] = field(default_factory=list)
    error_index: int | None = None  # index into the log's lines
    excerpt: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    filtered: bool = False  # the log was read filtered: line numbers count the lines read

    @property
    def error_line(self) -> str:
        for number, text in self.excerpt:
            if self.error_index is not None and number == self.error_index + 1:
                return text
        return ""

    def summary_rows(self) -> list[tuple[str, str]]:
        code = "-" if self.exit_code is None else str(self.exit_code)
        return [("build", self.build_id), ("status", self.status),
                ("failed phase", self.failed_phase or "-"),
                ("failing command", self.command or "-"), ("exit code", code),
                ("classification", self.title), ("detail", self.detail or "-"),
                ("next step", self.next_step)]


def triage_build(log: BuildLog, context_lines: int = 3, reports=None) -> Triage:
    """Classify the build's failure and cut the excerpt around its first error line.

    ``reports`` (:class:`.test_reports.BuildTestReports`): failing tests named by the
    build's test reports win over those guessed from the log."""
    command, exit_code = parse_failing_command(log.failed_context)
    rule = build_status.reword(log) or classify(log.lines, log.status, log.status_code,
                                                exit_code, command)
    if log.status == "SUCCEEDED":
        rule = Rule("none", "succeeded", "Nothing to fix: the build succeeded.")
    result = Triage(log.build_id, log.status, log.failed_phase, command, exit_code,
                    rule.category, rule.title, rule.next_step,
                    failing_tests=failing_tests(log.lines), filtered=log.filtered)
    if reports is not None and reports.failing:
        result.failing_tests = reports.names()
    result.detail = _detail(rule.category, log.lines, result.failing_tests)
    action, resource = missing_permission(log.lines)
    if rule.category == "access_denied" and action:
        result.next_step = (f"Grant {action}" + (f" on {resource}" if resource else "")
                            + " to the CodeBuild service role (notebook 03_iam_roles), then "
                            "retry the stage.")
    result.error_index = first_error_index(log.lines)
    if result.error_index is not None:
        result.excerpt = excerpt(shorten_paths(log.lines, log.source_dir), result.error_index,
                                 context_lines)
    return result


def parse_failing_command(context: str) -> tuple[str, int | None]:
    """``(command, exit code)`` from a phase context such as CodeBuild's
    ``Error while executing command: npm test. Reason: exit status 1``."""
    match = _COMMAND.search(context or "")
    if not match:
        return "", None
    return match["command"], int(match["code"])


def classify(lines: list[str], status: str = "", status_code: str = "",
             exit_code: int | None = None, command: str = "") -> Rule:
    """The first rule that matches the status, the exit code or a line; else ``unknown``.

    With no telling line, the failing command decides between install and test failures.
    """
    codes = {status, *status_code.split("; ")}
    for rule in RULES:
        if codes & set(rule.statuses) or (exit_code is not None and exit_code in
                                          rule.exit_codes):
            return rule
        if any(re.search(p, line) for p in rule.patterns for line in lines):
            return rule
    if command and _INSTALL_COMMAND.match(command):
        return _rule("dependency_install")
    if command and _TEST_COMMAND.match(command):
        return _rule("test_failure")
    return UNKNOWN


def first_error_index(lines: list[str]) -> int | None:
    """Index of the first line that reads as an error; command output before agent lines."""
    agent_hit = None
    for i, line in enumerate(lines):
        if _NOT_ERROR.search(line) or not _ERROR_LINE.search(line):
            continue
        if not _AGENT.match(line):
            return i
        if agent_hit is None:
            agent_hit = i
    return agent_hit


def excerpt(lines: list[str], index: int, context_lines: int = 3) -> list[tuple[int, str]]:
    """``(line number, text)`` for the line at ``index`` and ``context_lines`` either side."""
    start = max(index - max(context_lines, 0), 0)
    stop = min(index + max(context_lines, 0) + 1, len(lines))
    return [(i + 1, lines[i]) for i in range(start, stop)]


def shorten_paths(lines: list[str], source_dir: str) -> list[str]:
    """The build's source directory written as ``$CODEBUILD_SRC_DIR``: shorter, and the same
    from one build to the next."""
    if not source_dir:
        return list(lines)
    return [line.replace(source_dir, "$CODEBUILD_SRC_DIR") for line in lines]


def missing_permission(lines: list[str]) -> tuple[str, str]:
    """``(action, resource)`` from the first "is not authorized to perform" line."""
    for line in lines:
        match = _ACCESS.search(line)
        if match:
            return match["action"], (match["resource"] or "").rstrip(".,")
    return "", ""


def render_text(result: Triage) -> str:
    """The headless report: summary, then the excerpt with the error line marked."""
    width = max(len(k) for k, _ in result.summary_rows())
    out = [f"{k.ljust(width)}  {v}" for k, v in result.summary_rows()]
    if result.excerpt:
        out.append("")
        where = " of the lines read (log filtered server-side)" if result.filtered else ""
        out.append(f"first error at line {result.error_index + 1}{where}:")
        for number, text in result.excerpt:
            mark = ">" if number == result.error_index + 1 else " "
            out.append(f"{mark}{number:>5} | {text}".rstrip())
    return "\n".join(out)


def _rule(category: str) -> Rule:
    return next(r for r in RULES if r.category == category)


def _detail(category: str, lines: list[str], tests: list[str]) -> str:
    if category == "test_failure" and tests:
        return f"failing tests: {', '.join(tests)}"
    if category == "access_denied":
        action, resource = missing_permission(lines)
        if action:
            return f"missing {action}" + (f" on {resource}" if resource else "")
        code = next((m["code"] or m[0] for m in map(_ACCESS_CODE.search, lines) if m), "")
        return f"{code}: the log does not name the action" if code else ""
    return ""
