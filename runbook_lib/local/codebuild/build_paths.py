"""Where a build's files live, on disk and as the build sees them (CodeBuild's layout).

CodeBuild unpacks the source at ``/codebuild/output/src<digits>/src`` and says so in
``CODEBUILD_SRC_DIR``. Toolchains depend on that shape: npm puts ``node_modules/.bin`` on
``PATH``, so a folder name holding ``:`` (a build id is ``project:uuid``) splits that entry and
every devDependency command fails with 127. On disk a build's folder is therefore named
``<project>-<uuid>`` (letters, digits, ``-``, ``_``), and inside it the same
``codebuild/output/src<digits>/src`` tree is made. In the sandbox (:mod:`.sandbox`) that tree is
mounted at ``/codebuild/output/src<digits>`` so the build sees exactly CodeBuild's paths; an
unsandboxed build sees the on-disk paths, of the same shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BUILDS_FOLDER = "builds"
INSIDE_OUTPUT = PurePosixPath("/codebuild/output")
INSIDE_HOME = PurePosixPath("/root")  # CodeBuild's HOME
INSIDE_COMMANDS = INSIDE_OUTPUT / "tmp"  # the scripts the build's shell sources
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def work_folder(state_dir: Path, build_id: str) -> Path:
    """``<state>/builds/<project>-<uuid>``: a build id's ``:`` (and anything but letters,
    digits, ``-`` and ``_``) never reaches a path."""
    project, _, build_uuid = build_id.rpartition(":")
    name = f"{project}-{build_uuid}" if project else build_uuid
    return Path(state_dir) / BUILDS_FOLDER / _UNSAFE.sub("_", name)


def source_number(build_id: str) -> int:
    """The ``<digits>`` of ``src<digits>``: from the build's uuid, so it is stable per build."""
    digits = re.sub(r"[^0-9a-f]", "", build_id.rpartition(":")[2].lower())[:8] or "0"
    return int(digits, 16) % 10**9


@dataclass(frozen=True)
class BuildPaths:
    """One build's folders: ``host_*`` on this machine, ``inside_*`` as the build sees them."""

    work_dir: Path
    number: int
    sandboxed: bool

    @classmethod
    def of(cls, work_dir: Path, build_id: str, sandboxed: bool) -> BuildPaths:
        return cls(Path(work_dir), source_number(build_id), sandboxed)

    @property
    def host_output(self) -> Path:
        """The folder that is ``/codebuild/output/src<digits>`` inside the sandbox."""
        return self.work_dir / "codebuild" / "output" / f"src{self.number}"

    @property
    def host_src(self) -> Path:
        return self.host_output / "src"

    @property
    def host_sources(self) -> Path:
        """Secondary sources, one folder per ``sourceIdentifier``."""
        return self.host_output / "sources"

    @property
    def host_home(self) -> Path:
        """The build's own HOME (CodeBuild's ``/root``): fresh for every build."""
        return self.work_dir / "root"

    @property
    def host_commands(self) -> Path:
        return self.work_dir / "commands"

    @property
    def inside_output(self) -> PurePosixPath:
        return INSIDE_OUTPUT / f"src{self.number}"

    @property
    def inside_commands(self) -> PurePosixPath:
        return INSIDE_COMMANDS if self.sandboxed else PurePosixPath(self.host_commands)

    @property
    def inside_home(self) -> PurePosixPath:
        return INSIDE_HOME if self.sandboxed else PurePosixPath(self.host_home)

    def inside(self, host_path: Path) -> str:
        """How the build names ``host_path`` (a path under the build's output folder)."""
        if not self.sandboxed:
            return str(host_path)
        return str(self.inside_output / Path(host_path).relative_to(self.host_output))
