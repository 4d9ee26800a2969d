"""The failure classes triage knows, in the order they are checked, and their next steps.

A timeout or an out-of-memory kill explains whatever the tests printed while dying; a named
missing permission beats a generic registry "denied": so the order matters. Each rule's line
patterns are also compiled into one alternation (:data:`RULE_PATTERNS`), so a line is tested
once per rule rather than once per pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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

INSTALL_COMMAND = re.compile(r"^(?:npm (?:ci|install|i)\b|yarn(?: install)?\b|pnpm install|"
                              r"pip3? install|python3? -m pip install|poetry install|"
                              r"bundle install|go mod download)")
TEST_COMMAND = re.compile(r"^(?:npm (?:run )?test|yarn test|pnpm test|pytest|python3? -m "
                           r"pytest|go test|mvn (?:-\S+ )*(?:test|verify)|gradle test|"
                           r"\./gradlew test|node --test)\b")


def rule_named(category: str) -> Rule:
    """The rule of ``category`` (``dependency_install``, ``test_failure``...)."""
    return next(r for r in RULES if r.category == category)


RULE_PATTERNS: tuple[re.Pattern, ...] = tuple(
    re.compile("|".join(f"(?:{p})" for p in rule.patterns)) for rule in RULES)
ACCESS = re.compile(r"is not authorized to perform: (?P<action>[\w-]+:[\w*]+)"
                    r"(?: on resource: ?\"?(?P<resource>[^\s\"]+))?")
ACCESS_CODE = re.compile(r"\((?P<code>AccessDenied\w*|UnauthorizedOperation|"
                         r"AuthorizationError)\)|\bAccessDenied(?:Exception)?\b")
