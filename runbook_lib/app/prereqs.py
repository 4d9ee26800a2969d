"""What `make run` needs on this machine, checked before anything is installed or built.

A missing Node.js shows up otherwise as a failed build minutes into the run, and an old Python
as a pip error: both say nothing about the fix. This module is stdlib only and parses on old
Pythons, because `make run` calls it with the system ``python3`` before the virtualenv exists
(``python3 -m runbook_lib.app.prereqs``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass

MIN_PYTHON = (3, 11)
MIN_NODE_MAJOR = 18


@dataclass(frozen=True)
class Missing:
    """One prerequisite that is absent or too old, and how to get it."""

    what: str
    why: str
    fix: str

    def __str__(self) -> str:
        return f"- {self.what}: {self.why}\n  fix: {self.fix}"


def _version_of(command: str) -> str:
    try:
        done = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else ""


def _node_major(version: str) -> int:
    digits = version.lstrip("v").split(".")[0]
    return int(digits) if digits.isdigit() else 0


def check_python(version_info: tuple[int, ...] = sys.version_info[:3]) -> list[Missing]:
    if tuple(version_info[:2]) >= MIN_PYTHON:
        return []
    found = ".".join(str(n) for n in version_info[:3])
    return [Missing(f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+", f"this is Python {found}",
                    "install Python 3.11 or newer (python.org, pyenv, or your package manager) "
                    "and run `make run PYTHON=python3.11`")]


def check_tools(sample_app: bool = True, which=shutil.which, version_of=_version_of
                ) -> list[Missing]:
    """git, and for the sample app's builds Node.js and npm (the local runner runs `npm ci`)."""
    missing = []
    if not which("git"):
        missing.append(Missing("git", "the local AWS reads pipeline sources from git repositories",
                               "apt-get install git (Debian/Ubuntu), brew install git (macOS)"))
    if sample_app:
        node = which("node") and version_of("node")
        if not node:
            missing.append(Missing("Node.js", "the sample app's builds run `npm ci`, `npm test` "
                                   "and `npm run build` on this machine",
                                   "apt-get install nodejs npm (Debian/Ubuntu), brew install node "
                                   "(macOS), or nvm install --lts"))
        elif _node_major(node) < MIN_NODE_MAJOR:
            missing.append(Missing(f"Node.js {MIN_NODE_MAJOR}+", f"found {node}",
                                   "install a current LTS (nvm install --lts)"))
        if not which("npm"):
            missing.append(Missing("npm", "the sample app's builds install with `npm ci`",
                                   "apt-get install npm (Debian/Ubuntu); it comes with Node.js "
                                   "from nodejs.org, brew or nvm"))
    return missing


def check_all(sample_app: bool = True) -> list[Missing]:
    return check_python() + check_tools(sample_app)


def explain(missing: list[Missing]) -> str:
    return ("this machine lacks what the run needs:\n" + "\n".join(str(m) for m in missing))


def main() -> int:
    missing = check_all()
    if missing:
        print(explain(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
