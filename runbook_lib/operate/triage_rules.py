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
    Rule("command_not_found", "command not found",
         "A command the build runs is not installed: install the tool in the install phase, "
         "or the package's devDependencies (`npm ci` installs them unless NODE_ENV=production "
         "or --omit=dev), or fix the command or npm script name in the buildspec.",
         (r"^\S*sh: (?:line )?\d+: .+: (?:command )?not found",
          r"npm (?:ERR!|error) Missing script:"), exit_codes=(127,)),
    Rule("python_environment", "pip refused outside a virtual environment",
         "This Python refuses system-wide pip installs (PEP 668): install into a virtual "
         "environment made in the install phase (`python3 -m venv .venv`, then "
         "`.venv/bin/python -m pip install ...` and `.venv/bin/python -m pytest`), as the "
         "suite's python template does.",
         (r"error: externally-managed-environment",)),
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
          r"ResolutionImpossible", r"ModuleNotFoundError: No module named",
          r"Cannot find (?:package|module) '")),
    Rule("compile_error", "compile, type-check or lint error",
         "Run the same command locally (tsc --noEmit, eslint, go vet / go build), fix the "
         "errors it lists from the first one, and push.",
         (r"\berror TS\d+:", r"^\S+\.go:\d+:\d+: ", r"\[build failed\]",
          r"^✖ \d+ problems? \(\d+ errors?")),
    Rule("test_failure", "test failure",
         "Run the failing tests locally, fix the code or the test, and push; this run stopped "
         "before deploying anything.",
         (r"^\s*not ok \d+\b", r"^FAILED \S+", r"^# fail +[1-9]", r"Tests:\s+\d+ failed",
          r"^=+ .*\d+ failed", r"^\d+ failed\b", r"^\s*--- FAIL: ", r"^ERROR \S+\.py",
          r"Tests run: .*Failures: [1-9]", r"^\s+\d+ failing\s*$", r"^\s*● (?!Console)",
          r"coverage threshold for .* not met")),
)

# Decided by the build record, not by a line: a service fault, and the agent's own phases.
SERVICE_FAULT = Rule("service_fault", "service fault",
                     "CodeBuild itself failed (status FAULT), not your commands: retry the build "
                     "or the stage; if it repeats, the phase context message says what broke.")
BUILDSPEC_ERROR = Rule("buildspec_error", "buildspec error",
                       "Fix the buildspec as the message says (`runbook buildspec check`, notebook "
                       "04), commit, and run again.")
SOURCE_DOWNLOAD = Rule("source_download", "source download failed",
                       "The build could not fetch its source: check the source location and "
                       "version, and that the service role may read it (notebook 03_iam_roles); "
                       "then retry the stage.")
ARTIFACT_UPLOAD = Rule("artifact_upload", "artifact upload failed",
                       "Make the buildspec's artifacts section match what the build produced "
                       "(files, base-directory); a pipeline's build action with an output "
                       "artifact needs one. Then commit and run again.")

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


RULE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile("|".join(f"(?:{p})" for p in rule.patterns)) for rule in RULES)
ACCESS = re.compile(r"is not authorized to perform: (?P<action>[\w-]+:[\w*]+)"
                    r"(?: on resource: ?\"?(?P<resource>[^\s\"]+))?")
ACCESS_CODE = re.compile(r"\((?P<code>AccessDenied\w*|UnauthorizedOperation|"
                         r"AuthorizationError)\)|\bAccessDenied(?:Exception)?\b")
