"""What a build leaves behind: reports, exported variables, the artifact (UPLOAD_ARTIFACTS).

A mixin of :class:`~.runner.BuildRunner`, kept apart so the runner stays about phases. The
UPLOAD_ARTIFACTS phase captures exported variables (before anything else runs in the shell),
makes the build's test reports (even for a failed build: that is when they matter most),
saves the cache of a succeeding build, and zips the artifact to S3. FINALIZING makes the
reports when a failed phase skipped UPLOAD_ARTIFACTS.
"""

from __future__ import annotations

import hashlib

from botocore.exceptions import ClientError

from runbook_lib.core.redact import mask
from runbook_lib.local.codebuild.build_host import BuildHost
from runbook_lib.local.codebuild.build_reports import publish_reports
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.outputs import (
    ArtifactError,
    artifact_target,
    collect_artifact_files,
    upload_artifact,
)
from runbook_lib.local.codebuild.secondary import upload_secondary_artifacts


class BuildOutputs(BuildHost):
    """Methods of :class:`BuildRunner` for its outputs (uses its shell, logs and records)."""

    def _upload_artifacts(self, _phase: str) -> None:
        self._capture_exports()
        self._publish_reports()
        if self.buildspec is not None and self.succeeding:
            self._cache().save(self.buildspec.cache, self.logs.container)
        spec = self.buildspec.artifacts if self.buildspec else None
        self._upload_secondary(spec)
        target = artifact_target(self.job.artifacts_config, self.build["id"].split(":")[-1],
                                 self._artifact_name(spec.name if spec else None))
        if target is None:
            return
        self.build["artifacts"]["location"] = target.arn
        if spec is None:
            raise PhaseFailed("CLIENT_ERROR", "no matching artifact paths found")
        try:
            files = collect_artifact_files(self.src_dir, spec)
            data = upload_artifact(self.aws.client("s3", self.job.region), target, files)
        except ArtifactError as err:
            raise PhaseFailed("CLIENT_ERROR", str(err)) from err
        except ClientError as err:
            raise PhaseFailed("CLIENT_ERROR", f"{err.response['Error']['Code']}: "
                              f"artifact upload to {target.arn} failed") from err
        self.logs.container(f"Expanding {len(files)} artifact files; uploading to {target.arn}")
        if data is not None:
            self.build["artifacts"]["md5sum"] = hashlib.md5(data).hexdigest()  # noqa: S324
            self.build["artifacts"]["sha256sum"] = hashlib.sha256(data).hexdigest()

    def _upload_secondary(self, spec) -> None:
        declared = {a.get("artifactIdentifier") for a in self.job.secondary_artifacts or []}
        for ident in sorted(set(spec.secondary if spec else {}) - declared):
            # CodeBuild uploads only the secondary artifacts its project (or the pipeline's
            # action, as output artifacts) declares: say so rather than drop one silently.
            self.logs.container(f"Skipping secondary artifact '{ident}' of the buildspec: the "
                                "project declares no secondary artifact with that identifier "
                                "(add it to the project's secondaryArtifacts, or as an output "
                                "artifact of the pipeline's build action)")
        if not self.job.secondary_artifacts:
            return
        try:
            self.build["secondaryArtifacts"] = upload_secondary_artifacts(
                self.aws.client("s3", self.job.region), self.job.secondary_artifacts,
                spec.secondary if spec else {}, self.src_dir, self.build["id"].split(":")[-1],
                self._artifact_name, self.logs.container)
        except ClientError as err:
            raise PhaseFailed("CLIENT_ERROR", f"{err.response['Error']['Code']}: secondary "
                              "artifact upload failed") from err

    def _publish_reports(self) -> None:
        if self._reports_done or self.buildspec is None or self.job.add_report is None:
            return
        self._reports_done = True
        arns = publish_reports(self.buildspec, self.src_dir, self.job.add_report,
                               self.logs.container, lambda text: mask(text, self.secrets))
        if arns:
            self.build["reportArns"] = arns
            self._publish()

    def _capture_exports(self) -> None:
        if self._exports_captured or self.buildspec is None:
            return
        self._exports_captured = True
        names = list(self.buildspec.env.exported_variables)
        if not names or self.shell is None or not self.shell.alive() or self._abort_status:
            return
        values = self.shell.read_variables(names)
        self.build["exportedEnvironmentVariables"] = [
            {"name": n, "value": mask(values.get(n, ""), self.secrets)} for n in names]

    def _artifact_name(self, name: str | None) -> str | None:
        """Artifact names may hold shell expressions (``build-$(date +%F).zip``)."""
        if not name or "$" not in name or self.shell is None or not self.shell.alive():
            return name
        lines: list[str] = []
        self.shell.run(f'printf "%s\\n" "{name}"', lines.append)
        return lines[-1] if lines else name
