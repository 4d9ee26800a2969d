"""Secondary sources and secondary artifacts of a build, as CodeBuild handles them.

Sources (multiple-input builds, sample-multi-in-out.html): each of the project's
``secondarySources`` (or StartBuild's ``secondarySourcesOverride``) has a
``sourceIdentifier``; its files go to a folder of their own, named to the build by
``CODEBUILD_SRC_DIR_<sourceIdentifier>``; ``secondarySourceVersions`` pick an object version
per identifier. Artifacts: each of the project's ``secondaryArtifacts`` has an
``artifactIdentifier`` that must match a ``secondary-artifacts`` entry of the buildspec
(build-spec-ref.html#build-spec.artifacts.secondary-artifacts); each is zipped to its own S3
location. The local AWS runs S3 secondary sources (a pipeline's extra input artifacts are S3
objects too).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from runbook_lib.buildspec.model import Artifacts
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.outputs import (
    ArtifactError,
    artifact_target,
    collect_artifact_files,
    upload_artifact,
)
from runbook_lib.local.codebuild.source import fetch_source
from runbook_lib.local.server.wire import AwsError

_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_]+$")


def secondary_sources(project: dict, body: dict) -> list[dict]:
    """The build's secondary sources, checked as StartBuild checks them."""
    sources = copy.deepcopy(body.get("secondarySourcesOverride")
                            or project.get("secondarySources") or [])
    seen: set[str] = set()
    for source in sources:
        ident = source.get("sourceIdentifier") or ""
        if not _IDENTIFIER_RE.match(ident) or ident in seen:
            raise AwsError("InvalidInputException", f"Invalid or repeated sourceIdentifier "
                           f"'{ident}' in secondary sources: use letters, digits and '_'")
        seen.add(ident)
        if source.get("type") not in ("S3", "CODEPIPELINE") or not source.get("location"):
            raise AwsError("InvalidInputException", f"Secondary source {ident}: the local AWS "
                           "runs S3 secondary sources with a location")
    return sources


def secondary_versions(project: dict, body: dict) -> list[dict]:
    return copy.deepcopy(body.get("secondarySourcesVersionOverride")
                         or project.get("secondarySourceVersions") or [])


def secondary_artifacts(project: dict, body: dict) -> list[dict]:
    artifacts = copy.deepcopy(body.get("secondaryArtifactsOverride")
                              or project.get("secondaryArtifacts") or [])
    for artifact in artifacts:
        if not _IDENTIFIER_RE.match(artifact.get("artifactIdentifier") or ""):
            raise AwsError("InvalidInputException", "Every secondary artifact needs an "
                           "artifactIdentifier of letters, digits and '_'")
    return artifacts


def fetch_secondary_sources(s3, sources: list[dict], versions: list[dict], root: Path,
                            log: Callable[[str], None]) -> dict[str, str]:
    """Download each secondary source; returns ``CODEBUILD_SRC_DIR_<id>`` variables."""
    wanted = {v.get("sourceIdentifier"): v.get("sourceVersion") for v in versions}
    variables = {}
    for source in sources:
        ident = source["sourceIdentifier"]
        folder = root / ident
        folder.mkdir(parents=True, exist_ok=True)
        fetch_source(s3, source["location"], wanted.get(ident), folder)
        variables[f"CODEBUILD_SRC_DIR_{ident}"] = str(folder)
        log(f"Downloaded secondary source {ident} from {source['location']} to {folder}")
    return variables


def upload_secondary_artifacts(s3, configs: list[dict], specs: Mapping[str, Artifacts],
                               src_dir: Path, build_uuid: str,
                               name_of: Callable[[str | None], str | None],
                               log: Callable[[str], None]) -> list[dict]:
    """Zip each secondary artifact to its location; returns the build's records of them."""
    records = []
    for config in configs:
        ident = config["artifactIdentifier"]
        spec = specs.get(ident)
        if spec is None:
            raise PhaseFailed("CLIENT_ERROR", f"secondary artifact {ident} has no definition "
                              "under artifacts.secondary-artifacts in the buildspec")
        target = artifact_target(config, build_uuid, name_of(spec.name))
        if target is None:
            continue
        try:
            files = collect_artifact_files(src_dir, spec)
        except ArtifactError as err:
            raise PhaseFailed("CLIENT_ERROR", f"secondary artifact {ident}: {err}") from err
        upload_artifact(s3, target, files)
        log(f"Expanding {len(files)} files of secondary artifact {ident}; uploading to "
            f"{target.arn}")
        records.append({"location": target.arn, "artifactIdentifier": ident})
    for ident in specs:
        if ident not in {c["artifactIdentifier"] for c in configs}:
            log(f"Secondary artifact {ident} is in the buildspec but not in the project's "
                "secondaryArtifacts; it is not uploaded")
    return records
