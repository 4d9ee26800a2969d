"""README "Rehearse your own app", typed exactly as written, in a clean shell (issue 16).

The section's two `sh` blocks are read from README.md and run by bash as they stand, on a copy
of a real public repository (tests/fixtures/repos/pytest-inflection) placed where the README
says (`~/src/my-app`, under a HOME of the test's own). The shell starts clean: the user's
PATH without this suite's venv, no AWS_* or RUNBOOK_* variable. The suite's folder is a folder
of the test's own holding `.venv` (a link to this checkout's), so `runbook.toml` and `out/`
land there, not in the checkout. Between the blocks the test breaks one named test in the
working copy, which the README's `git commit -am` then pushes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import fixture_repos
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPO = "pytest-inflection"
MARK = "@@exit="


def _section_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Rehearse your own app", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def _clean_env(home: Path) -> dict[str, str]:
    venv_bin = str(ROOT / ".venv" / "bin")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    return {"HOME": str(home), "PATH": os.pathsep.join(path), "LANG": "C.UTF-8",
            "USER": os.environ.get("USER", "root")}


def _run_lines(block: str, env: dict, cwd: Path) -> list[tuple[str, int, str]]:
    """Each command line of ``block`` as typed, in one bash; its exit code and output."""
    script = []
    commands = [line for line in block.splitlines() if line.strip()]
    for line in commands:
        script += [line, f'echo "{MARK}$?"']
    done = subprocess.run(["bash", "-c", "\n".join(script)], env=env, cwd=cwd, text=True,
                          capture_output=True, timeout=1800)
    chunks = re.split(rf"{MARK}(\d+)\n", done.stdout)
    outputs, codes = chunks[0::2], [int(c) for c in chunks[1::2]]
    assert len(codes) == len(commands), done.stdout[-3000:] + done.stderr[-3000:]
    return list(zip(commands, codes, outputs, strict=False))


def _expect(results, expected: list[int], stderr_hint: str = "") -> None:
    got = [code for _, code, _ in results]
    assert got == expected, "\n".join(f"{code}: {cmd}\n{out[-1500:]}"
                                      for cmd, code, out in results) + stderr_hint


def test_rehearse_your_own_app_as_the_readme_says(tmp_path):
    first, then = _section_blocks()
    home, suite_folder = tmp_path / "home", tmp_path / "suite"
    home.mkdir()
    suite_folder.mkdir()
    (suite_folder / ".venv").symlink_to(ROOT / ".venv")
    (home / ".gitconfig").write_text("[user]\n\tname = Operator\n\temail = op@example.com\n")
    app = fixture_repos.copy_repo(REPO, home / "src").rename(home / "src" / "my-app")
    env = _clean_env(home)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "import"]):
        subprocess.run(["git", *args], cwd=app, env=env, check=True, capture_output=True)
    # The user's edit between the blocks: one named test broken in the working copy, which the
    # README's `git commit -am` then pushes. Prepared here, copied in by the shell.
    broken = tmp_path / "broken"
    shutil.copytree(app, broken, ignore=shutil.ignore_patterns(".git"))
    fixture_repos.break_repo(broken, REPO)
    edited = fixture_repos.index()[REPO]["break"]["file"]
    edit = f"cp {broken / edited} {app / edited}"
    try:
        results = _run_lines(f"{first}\n{edit}\n{then}", env, suite_folder)
        # first block: env, local env, repo add, buildspec check, run (waits for approval: 0);
        # the edit; then status, commit, run (the followed run failed: 3), triage (a failure:
        # 1), teardown plan, teardown apply, local env
        _expect(results, [0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0])
        assert "put-approval-result" in results[4][2], results[4][2][-2000:]
        assert (suite_folder / "runbook.toml").is_file()
        failing = fixture_repos.index()[REPO]["failing_test"].split("::")[-1]
        assert failing in results[8][2] + results[9][2]
        assert "apply=true" in results[10][2], results[10][2][-1500:]
    finally:
        subprocess.run(["bash", "-c", 'PATH="$PWD/.venv/bin:$PATH" runbook local stop'],
                       env=env, cwd=suite_folder, capture_output=True, timeout=120)
