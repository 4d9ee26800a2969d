"""What a build takes in (DOWNLOAD_SOURCE): its source, secondary sources, buildspec,
environment and shell.

A mixin of :class:`~.runner.BuildRunner`, as :mod:`.finishing` is for its outputs. Paths the
build sees are CodeBuild's (:mod:`.build_paths`); the shell runs in the build sandbox
(:mod:`.sandbox`) with an environment made from scratch and the build's temporary credentials
(:mod:`.workspace`).
"""

from __future__ import annotations

from pathlib import Path

from runbook_lib.local.codebuild.build_host import BuildHost
from runbook_lib.local.codebuild.commands import shell_program
from runbook_lib.local.codebuild.env import resolve_variables
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.git_source import GIT_SOURCE_TYPES, fetch_git_source
from runbook_lib.local.codebuild.secondary import fetch_secondary_sources
from runbook_lib.local.codebuild.source import fetch_source, read_buildspec
from runbook_lib.local.codebuild.workspace import build_environment, open_shell, toolchain
from runbook_lib.local.server import build_credentials


class BuildInputs(BuildHost):
    """Methods of :class:`BuildRunner` for its inputs (uses its job, paths, logs, records)."""

    def _download_source(self, _phase: str) -> None:
        source = self.build["source"]
        if source["type"] in ("S3", "CODEPIPELINE") and source.get("location"):
            version = self.build.get("sourceVersion")
            # A pipeline's sourceVersion is its commit id; an operator's is an S3 version id.
            object_version = fetch_source(self.aws.client("s3", self.job.region),
                                          source["location"], None if self.job.from_pipeline
                                          else version, self.src_dir)
            resolved_version = version if self.job.from_pipeline else object_version
            if resolved_version:
                self.build["resolvedSourceVersion"] = resolved_version
            self.logs.container(f"Downloaded source from {source['location']}")
        elif source["type"] in GIT_SOURCE_TYPES:
            self.build["resolvedSourceVersion"] = fetch_git_source(
                self.job.cache_dir.parent, source.get("location") or "",
                self.build.get("sourceVersion"), self.src_dir)
            self.logs.container(f"Cloned {source['location']} at "
                                f"{self.build['resolvedSourceVersion']}")
        secondary_dirs = fetch_secondary_sources(
            self.aws.client("s3", self.job.region), self.build.get("secondarySources") or [],
            self.build.get("secondarySourceVersions") or [], self.paths.host_sources,
            self.logs.container)
        secondary_dirs = {k: self.paths.inside(Path(v)) for k, v in secondary_dirs.items()}
        inside_src = self.paths.inside(self.src_dir)
        self.logs.container(f"CODEBUILD_SRC_DIR={inside_src}")
        try:
            self.buildspec, where = read_buildspec(source.get("buildspec") or "", self.src_dir)
        except PhaseFailed as failed:  # the path as the build sees it
            raise PhaseFailed(failed.status_code, failed.message.replace(
                str(self.src_dir), inside_src)) from None
        self.logs.container(f"YAML location is {where.replace(str(self.src_dir), inside_src)}")
        tools = toolchain(self.job.cache_dir.parent)
        self.shell = open_shell(self.paths, self._environment(secondary_dirs, tools),
                                shell_program(self.buildspec), tools)
        self.shell.start()
        self.logs.container(f"Moving to directory {inside_src}")
        self.logs.container(f"Phases found in YAML: {len(self.buildspec.phases)}")
        for phase in self.buildspec.phases:
            self.logs.container(f" {phase.name.upper()}: {len(phase.commands)} commands")
        self._cache().restore(self.buildspec.cache, self.logs.container)

    def _environment(self, secondary_dirs: dict[str, str], tools) -> dict[str, str]:
        """The shell's environment (see :mod:`.workspace`); secrets noted for masking."""
        resolved = resolve_variables(self.aws, self.job.region, self.buildspec,
                                     self.build["environment"]["environmentVariables"])
        self.logs.container("Processing environment variables")
        self.credentials = build_credentials.issue(self.build["id"],
                                                   self.build.get("serviceRole") or "")
        self.secrets |= resolved.secret_values | self.credentials.secrets()
        return build_environment(self.paths, tools, self.build, self.job.endpoint_url,
                                 self.job.region, self.credentials, self.job.log_location.stream,
                                 {**resolved.values, **secondary_dirs})
