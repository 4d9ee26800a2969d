"""``runbook buildspec check PATH...``: validate and lint buildspec files from the terminal.

Made for a pre-commit hook or a CI step: one ``file:line: severity: message`` line per
finding (the form editors and pre-commit link to the line), a summary on stderr, and an exit
status that says whether to block: 1 when a file is invalid or has a lint error, or, with
``--strict``, a warning; 0 otherwise. The logic is :func:`runbook_lib.buildspec.lint.check_file`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runbook_lib.buildspec.lint import BuildspecCheck, LintFinding


def register(sub) -> None:
    """Add ``buildspec check`` to the ``runbook`` subcommands."""
    buildspec = sub.add_parser("buildspec", help="validate and lint buildspec files")
    bsub = buildspec.add_subparsers(dest="buildspec_command")
    check = bsub.add_parser("check", help="validate and lint buildspec files (exit 1 on an "
                            "error; with --strict, on a warning too)")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                       help="buildspec files (buildspec.yml, buildspec_*.yml, ...)")
    check.add_argument("--strict", action="store_true",
                       help="fail on lint warnings too, not only on errors")
    check.add_argument("--quiet", action="store_true", help="print findings only, no summary")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    # Imported here: every `runbook` command builds this parser, few of them check buildspecs.
    from runbook_lib.buildspec.lint import check_file

    checks = [check_file(path) for path in args.paths]
    for check in checks:
        for finding in check.findings:
            print(format_finding(check.source, finding))
        if not args.quiet:
            print(check.summary(), file=sys.stderr)
    return 1 if any(blocks(check, args.strict) for check in checks) else 0


def blocks(check: BuildspecCheck, strict: bool) -> bool:
    """Whether ``check`` should stop a commit: invalid, a lint error, or (strict) a warning."""
    from runbook_lib.buildspec.lint import WARNING

    return not check.ok or (strict and check.count(WARNING) > 0)


def format_finding(source: str, finding: LintFinding) -> str:
    from runbook_lib.buildspec.lint import ERROR

    where = f"{source}:{finding.line}" if finding.line else source
    severity = "error" if finding.severity == ERROR else finding.severity
    text = f"{where}: {severity}: {finding.message} [{finding.rule_id}]"
    return f"{text}. Fix: {finding.fix}" if finding.fix else text
