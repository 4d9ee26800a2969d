"""What the build runner hands its mixins: the job (:class:`BuildJob`) and the declarations
of what :class:`~.runner.BuildRunner` sets that they use (:class:`BuildHost`).

:mod:`.inputs` (DOWNLOAD_SOURCE) and :mod:`.finishing` (UPLOAD_ARTIFACTS, FINALIZING) are mixins
of the runner: their methods read the attributes its ``__init__`` sets and call a few of its
methods. Both derive from :class:`BuildHost`, which only declares those (annotations, methods
under ``TYPE_CHECKING``: at run time it is an empty class), so mypy checks the mixins' use of
the runner, and the runner's attributes and methods against the declarations. Declared here,
not in runner.py: the mixins cannot import the runner that imports them
(tests/unit/test_architecture.py refuses the cycle, even for types only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild.build_reports import AddReport
from runbook_lib.local.codebuild.logs import LogLocation

if TYPE_CHECKING:
    from runbook_lib.buildspec.model import Buildspec
    from runbook_lib.local.codebuild.build_paths import BuildPaths
    from runbook_lib.local.codebuild.cache import BuildCache
    from runbook_lib.local.codebuild.logs import BuildLogWriter
    from runbook_lib.local.codebuild.shell import BuildShell
    from runbook_lib.local.server.build_credentials import BuildCredentials
    from runbook_lib.local.server.internal import InternalAws


@dataclass
class BuildJob:
    """What the build service hands the runner; ``record`` is the build as BatchGetBuilds
    shows it (source, environment and cache with StartBuild's overrides applied)."""

    record: dict
    artifacts_config: dict  # ProjectArtifacts: the project's, or artifactsOverride
    region: str
    work_dir: Path  # <state>/builds/<project>-<uuid> (build_paths.work_folder)
    cache_dir: Path  # <state>/cache, for LOCAL caches
    endpoint_url: str | None
    log_location: LogLocation
    from_pipeline: bool = False
    add_report: AddReport | None = None  # the local report service, bound to this build
    secondary_artifacts: list[dict] = field(default_factory=list)  # ProjectArtifacts each


class BuildHost:
    """What :class:`~.runner.BuildRunner` sets and its mixins use (declarations only)."""

    aws: InternalAws
    job: BuildJob
    build: dict[str, Any]  # the build's record, as BatchGetBuilds shows it
    logs: BuildLogWriter
    paths: BuildPaths
    src_dir: Path  # the primary source folder on this machine
    secrets: set[str]  # values masked in the log and in exported variables
    credentials: BuildCredentials | None  # issued in DOWNLOAD_SOURCE
    shell: BuildShell | None  # opened in DOWNLOAD_SOURCE
    buildspec: Buildspec | None  # read in DOWNLOAD_SOURCE
    succeeding: bool
    _exports_captured: bool
    _reports_done: bool
    _abort_status: str | None  # STOPPED or TIMED_OUT once the build is cut short

    if TYPE_CHECKING:  # the runner's methods the mixins call
        def _cache(self) -> BuildCache: ...

        def _publish(self) -> None: ...
