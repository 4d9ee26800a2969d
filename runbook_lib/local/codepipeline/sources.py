"""Executors for source actions; see runbook_lib.local.codepipeline.actions for the plug-in shape.

A CodeConnections (GitHub, Bitbucket, GitLab) or CodeCommit source reads a local git repository
registered with ``runbook local repo add``; an S3 source copies a version of an object. Each
produces the output artifact zip, the output variables and the revision AWS's own providers
report, so later actions and the operator's views see what they would on AWS.
"""

from __future__ import annotations

import dataclasses
import json

from botocore.exceptions import ClientError

from runbook_lib.core.text import iso_time
from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register,
)
from runbook_lib.local.codepipeline.artifacts import put_artifact
from runbook_lib.local.codepipeline.repos import (
    CommitInfo,
    RegisteredRepo,
    RepoRegistry,
    RepositoryError,
)

_SUMMARY_MAX = 2048
# S3 answers a missing bucket, key or version (400 for a malformed version id) with one of
# these; anything else is a real fault and propagates.
_S3_NOT_FOUND = {"404", "NoSuchBucket", "NoSuchKey", "NoSuchVersion", "400", "InvalidArgument"}


class _GitSource:
    """What the git sources share: the repository named by ``repo_field`` and ``BranchName``,
    the commit to fetch, and the variables every git provider sets; each provider adds its own
    variables and revision summary in ``_outcome``."""

    repo_field = ""

    def can_start(self, aws, state_dir, region: str, configuration: dict[str, str]) -> bool:
        """Whether a new pipeline's first run can fetch: the repository and branch exist."""
        return _branch_exists(state_dir, configuration.get(self.repo_field, ""),
                              configuration.get("BranchName", ""))

    def run(self, ctx: ActionContext) -> ActionOutcome:
        cfg = ctx.configuration
        found = _resolve_git_revision(ctx, cfg.get(self.repo_field, ""), self.repo_field,
                                      cfg.get("BranchName", ""))
        if isinstance(found, ActionOutcome):
            return found
        repo, info = found
        variables = {
            "AuthorDate": iso_time(info.author_date),
            "BranchName": cfg.get("BranchName", ""),
            "CommitId": info.sha,
            "CommitMessage": info.message,
        }
        return self._outcome(ctx, repo, info, variables)

    def _outcome(self, ctx: ActionContext, repo: RegisteredRepo, info: CommitInfo,
                 variables: dict[str, str]) -> ActionOutcome:
        raise NotImplementedError


@register("Source", "CodeStarSourceConnection")
class ConnectionSource(_GitSource):
    """CodeConnections source: ``FullRepositoryId`` is a registered local repository id."""

    repo_field = "FullRepositoryId"

    def _outcome(self, ctx: ActionContext, repo: RegisteredRepo, info: CommitInfo,
                 variables: dict[str, str]) -> ActionOutcome:
        note = ""
        if ctx.configuration.get("OutputArtifactFormat") == "CODEBUILD_CLONE_REF":
            note = (" (local AWS: CODEBUILD_CLONE_REF delivered as CODE_ZIP, without git "
                    "history)")
        summary = json.dumps({"ProviderType": "GitHub", "CommitMessage": info.message},
                             separators=(",", ":"))
        variables.update(ConnectionArn=ctx.configuration.get("ConnectionArn", ""),
                         FullRepositoryName=repo.repo_id)
        return _git_outcome(ctx, repo, info, summary, variables, note)


@register("Source", "CodeCommit")
class CodeCommitSource(_GitSource):
    """CodeCommit source: ``RepositoryName`` is a registered local repository id."""

    repo_field = "RepositoryName"

    def _outcome(self, ctx: ActionContext, repo: RegisteredRepo, info: CommitInfo,
                 variables: dict[str, str]) -> ActionOutcome:
        variables.update(CommitterDate=iso_time(info.committer_date),
                         RepositoryName=repo.repo_id)
        return _git_outcome(ctx, repo, info, info.message, variables, "")


@register("Source", "S3")
class S3Source:
    """S3 source: a version of ``S3Bucket``/``S3ObjectKey`` (the bucket must be versioned)."""

    def can_start(self, aws, state_dir, region: str, configuration: dict[str, str]) -> bool:
        """Whether the object is there yet (a new pipeline often precedes its first upload)."""
        bucket, key = configuration.get("S3Bucket"), configuration.get("S3ObjectKey")
        if not bucket or not key:
            return False
        try:
            aws.client("s3", region).head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response["Error"]["Code"] in _S3_NOT_FOUND:
                return False
            raise
        return True

    def run(self, ctx: ActionContext) -> ActionOutcome:
        cfg = ctx.configuration
        pinned = ctx.source_revision or {}
        bucket = cfg.get("S3Bucket", "")
        key = pinned.get("S3_OBJECT_KEY") or cfg.get("S3ObjectKey", "")
        version = pinned.get("S3_OBJECT_VERSION_ID")
        if not bucket or not key:
            return _failed("the S3 source needs S3Bucket and S3ObjectKey in its configuration")
        s3 = ctx.aws.client("s3", ctx.region)
        where = f"s3://{bucket}/{key}" + (f" (version {version})" if version else "")
        try:
            if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
                return _failed(f"bucket {bucket} is not versioned; an S3 source needs a "
                               f"versioned bucket: aws s3api put-bucket-versioning --bucket "
                               f"{bucket} --versioning-configuration Status=Enabled")
            head = s3.head_object(Bucket=bucket, Key=key,
                                  **({"VersionId": version} if version else {}))
        except ClientError as err:
            if err.response["Error"]["Code"] in _S3_NOT_FOUND:
                return _failed(f"the source object {where} was not found "
                               f"({err.response['Error']['Code']})")
            raise
        version_id = head.get("VersionId") or version or "null"
        etag = head.get("ETag", "").strip('"')
        outputs = []
        for name in ctx.output_artifact_names[:1]:
            ref = ArtifactRef(name, ctx.artifact_bucket, _artifact_key(ctx, name, version_id))
            s3.copy_object(Bucket=ref.bucket, Key=ref.key,
                           CopySource={"Bucket": bucket, "Key": key, "VersionId": version_id})
            outputs.append(ref)
        revision = {"revisionId": version_id, "revisionChangeIdentifier": etag,
                    "created": head["LastModified"].timestamp()}
        user_summary = (head.get("Metadata") or {}).get("codepipeline-artifact-revision-summary")
        if user_summary:
            revision["revisionSummary"] = user_summary[:_SUMMARY_MAX]
        return ActionOutcome(
            status="Succeeded",
            summary=user_summary or f"s3://{bucket}/{key} version {version_id}",
            output_artifacts=outputs,
            output_variables={"ETag": etag, "VersionId": version_id},
            external_execution_id=version_id,
            revision=revision,
        )


# -- shared by the git sources ----------------------------------------------------------------


def _branch_exists(state_dir, repo_id: str, branch: str) -> bool:
    repo = RepoRegistry(state_dir).get(repo_id) if repo_id else None
    if repo is None or not branch:
        return False
    try:
        return repo.git().branch_head(branch) is not None
    except RepositoryError:
        return False


def _resolve_git_revision(ctx: ActionContext, repo_id: str, field: str,
                          branch: str) -> tuple[RegisteredRepo, CommitInfo] | ActionOutcome:
    """The registered repository and the commit to fetch, or a Failed outcome that says why.

    The commit is the one the execution was started with (a push or sourceRevisions), else
    the branch head now, as AWS fetches the latest commit on a manual start.
    """
    repo = RepoRegistry(ctx.state_dir).get(repo_id) if repo_id else None
    if repo is None:
        return _failed(f"repository {repo_id!r} ({field}) is not registered with the local AWS; "
                       f"register its folder: runbook local repo add {repo_id or 'OWNER/NAME'} "
                       "/path/to/repo")
    git = repo.git()
    try:
        wanted = (ctx.source_revision or {}).get("COMMIT_ID")
        if wanted:
            sha = git.resolve_commit(wanted)
            if sha is None:
                return _failed(f"commit {wanted} is not in repository {repo_id} ({repo.path}); "
                               "commit it there, or start the pipeline without sourceRevisions")
        else:
            if not branch:
                return _failed("the source needs BranchName in its configuration")
            sha = git.branch_head(branch)
            if sha is None:
                return _failed(f"branch {branch!r} does not exist in repository {repo_id} "
                               f"({repo.path}); create it or fix BranchName "
                               "(see `runbook local repo list`)")
        return repo, git.commit_info(sha)
    except RepositoryError as err:
        return _failed(f"repository {repo_id} ({repo.path}) cannot be read: {err}; fix the "
                       "folder or re-register it with `runbook local repo add`")


def _git_outcome(ctx: ActionContext, repo: RegisteredRepo, info: CommitInfo, revision_summary: str,
                 variables: dict[str, str], note: str) -> ActionOutcome:
    outputs = []
    for name in ctx.output_artifact_names[:1]:
        ref = ArtifactRef(name, ctx.artifact_bucket, _artifact_key(ctx, name, info.sha))
        outputs.append(put_artifact(ctx.aws, ctx.region, ref, repo.git().archive_zip(info.sha)))
    first_line = info.message.splitlines()[0] if info.message else info.sha
    return ActionOutcome(
        status="Succeeded",
        summary=(first_line + note)[:_SUMMARY_MAX],
        output_artifacts=outputs,
        output_variables=variables,
        external_execution_id=info.sha,
        external_execution_url=_commit_url(repo, info.sha),
        revision={
            "revisionId": info.sha,
            "revisionSummary": revision_summary[:_SUMMARY_MAX],
            "revisionUrl": _commit_url(repo, info.sha),
            "created": info.committer_date,
        },
    )


def _artifact_key(ctx: ActionContext, name: str, revision: str) -> str:
    """The engine's key shape, tagged with this source's revision when the execution has none
    yet (the source is what first knows the commit)."""
    if ctx.commit_id:
        return ctx.new_artifact_key(name)
    return dataclasses.replace(ctx, commit_id=revision).new_artifact_key(name)


def _commit_url(repo: RegisteredRepo, sha: str) -> str:
    """Where the commit lives: the local folder (there is no web page for it)."""
    return f"file://{repo.path}#{sha}"


def _failed(summary: str) -> ActionOutcome:
    return ActionOutcome(status="Failed", summary=summary[:_SUMMARY_MAX])
