"""Source executors on real git repositories and a real (local) S3: zips, variables, revisions."""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runbook_lib.local.archives import extract_zip
from runbook_lib.local.codepipeline.actions import ActionContext, executor_for
from runbook_lib.local.codepipeline.repos import RepoRegistry

CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc-123"
_GIT = ["git", "-c", "user.name=Ann Author", "-c", "user.email=ann@example.com",
        "-c", "commit.gpgsign=false"]


def _git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run([*_GIT, "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, timeout=60, env={**os.environ, **(env or {})}).stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str, date: str | None = None) -> str:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    _git(repo, "add", "-A")
    dates = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else None
    _git(repo, "commit", "-q", "-m", message, env=dates)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    """acme/sample-app with two commits on main and a build script that must stay executable."""
    path = tmp_path / "sample-app"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    first = _commit(path, {"README.md": "v1\n", "src/app.js": "console.log(1)\n"},
                    "First commit", date="2024-03-01T10:00:00+00:00")
    (path / "build.sh").write_text("#!/bin/sh\necho build\n")
    (path / "build.sh").chmod(0o755)
    second = _commit(path, {"src/app.js": "console.log(2)\n"},
                     "Second commit\n\nWith a body line.", date="2024-03-02T11:30:00+00:00")
    state = tmp_path / "state"
    RepoRegistry(state).add("acme/sample-app", path)
    return {"path": path, "state": state, "first": first, "second": second}


@pytest.fixture
def bucket(session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=f"{app_name}-artifacts")
    return f"{app_name}-artifacts"


def _context(local_aws, state_dir, bucket, configuration, source_revision=None,
             outputs=("SourceOutput",)):
    return ActionContext(
        aws=local_aws.app.context.aws, state_dir=Path(state_dir), region="us-east-1",
        account_id="123456789012", pipeline_name="sample-pipeline", pipeline_version=1,
        execution_id="11111111-2222-3333-4444-555555555555", stage_name="Source",
        action_name="Source", action_execution_id="aaaa", configuration=configuration,
        input_artifacts=[], output_artifact_names=list(outputs), artifact_bucket=bucket,
        source_revision=source_revision)


def _connection_config(**extra):
    return {"ConnectionArn": CONNECTION, "FullRepositoryId": "acme/sample-app",
            "BranchName": "main", "OutputArtifactFormat": "CODE_ZIP", **extra}


def _unzipped(session, outcome, dest: Path) -> dict[str, str]:
    ref = outcome.output_artifacts[0]
    data = session.client("s3").get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
    extract_zip(data, dest)
    return {str(p.relative_to(dest)): p.read_text() for p in dest.rglob("*") if p.is_file()}


def test_connection_source_zips_the_branch_head_with_aws_variables(local_aws, session, repo,
                                                                   bucket, tmp_path):
    outcome = executor_for("Source", "CodeStarSourceConnection").run(
        _context(local_aws, repo["state"], bucket, _connection_config()))

    assert outcome.status == "Succeeded", outcome.summary
    files = _unzipped(session, outcome, tmp_path / "out")
    assert files == {"README.md": "v1\n", "src/app.js": "console.log(2)\n",
                     "build.sh": "#!/bin/sh\necho build\n"}  # no .git, the committed tree only
    assert os.access(tmp_path / "out" / "build.sh", os.X_OK)
    ref = outcome.output_artifacts[0]
    assert (ref.name, ref.bucket) == ("SourceOutput", bucket)
    assert ref.key.startswith("sample-pipeline/SourceOutput/" + repo["second"][:12])
    assert outcome.output_variables == {
        "AuthorDate": "2024-03-02T11:30:00Z",
        "BranchName": "main",
        "CommitId": repo["second"],
        "CommitMessage": "Second commit\n\nWith a body line.",
        "ConnectionArn": CONNECTION,
        "FullRepositoryName": "acme/sample-app",
    }
    assert outcome.revision["revisionId"] == repo["second"]
    assert json.loads(outcome.revision["revisionSummary"]) == {
        "ProviderType": "GitHub", "CommitMessage": "Second commit\n\nWith a body line."}
    assert outcome.revision["created"] == datetime(2024, 3, 2, 11, 30, tzinfo=UTC).timestamp()
    assert repo["second"] in outcome.revision["revisionUrl"]
    assert outcome.external_execution_id == repo["second"]
    assert outcome.summary == "Second commit"


def test_connection_source_fetches_the_commit_the_execution_names(local_aws, session, repo,
                                                                  bucket, tmp_path):
    pinned = {"COMMIT_ID": repo["first"][:10]}  # an abbreviated id resolves too
    outcome = executor_for("Source", "CodeStarSourceConnection").run(
        _context(local_aws, repo["state"], bucket, _connection_config(), source_revision=pinned))

    assert outcome.status == "Succeeded", outcome.summary
    assert _unzipped(session, outcome, tmp_path / "out") == {"README.md": "v1\n",
                                                             "src/app.js": "console.log(1)\n"}
    assert outcome.output_variables["CommitId"] == repo["first"]
    assert outcome.revision["revisionId"] == repo["first"]


def test_clone_ref_format_is_delivered_as_a_zip_with_a_note(local_aws, session, repo, bucket,
                                                            tmp_path):
    config = _connection_config(OutputArtifactFormat="CODEBUILD_CLONE_REF")
    outcome = executor_for("Source", "CodeStarSourceConnection").run(
        _context(local_aws, repo["state"], bucket, config))

    assert outcome.status == "Succeeded"
    assert "CODEBUILD_CLONE_REF" in outcome.summary
    assert "README.md" in _unzipped(session, outcome, tmp_path / "out")


@pytest.mark.parametrize(
    "case, config, pinned, fix_hint",
    [
        ("unregistered repository", {"FullRepositoryId": "acme/unknown"}, None,
         "runbook local repo add acme/unknown"),
        ("missing branch", {"BranchName": "release"}, None, "release"),
        ("unknown commit", {}, {"COMMIT_ID": "0123456789abcdef0123456789abcdef01234567"},
         "0123456789abcdef"),
        ("commit id that is not hex", {}, {"COMMIT_ID": "--output=/tmp/x"}, "--output"),
    ],
)
def test_connection_source_failures_name_the_fix(local_aws, repo, bucket, case, config, pinned,
                                                 fix_hint):
    outcome = executor_for("Source", "CodeStarSourceConnection").run(
        _context(local_aws, repo["state"], bucket, _connection_config(**config),
                 source_revision=pinned))

    assert outcome.status == "Failed", case
    assert fix_hint in outcome.summary, case
    assert outcome.output_artifacts == []


def test_codecommit_source_reads_a_registered_bare_repository(local_aws, session, repo, bucket,
                                                              tmp_path):
    bare = tmp_path / "shop.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo["path"]), str(bare)], check=True,
                   timeout=60)
    RepoRegistry(repo["state"]).add("shop", bare)
    outcome = executor_for("Source", "CodeCommit").run(_context(
        local_aws, repo["state"], bucket,
        {"RepositoryName": "shop", "BranchName": "main", "PollForSourceChanges": "false"}))

    assert outcome.status == "Succeeded", outcome.summary
    assert _unzipped(session, outcome, tmp_path / "out")["src/app.js"] == "console.log(2)\n"
    assert outcome.output_variables == {
        "AuthorDate": "2024-03-02T11:30:00Z",
        "BranchName": "main",
        "CommitId": repo["second"],
        "CommitMessage": "Second commit\n\nWith a body line.",
        "CommitterDate": "2024-03-02T11:30:00Z",
        "RepositoryName": "shop",
    }
    assert outcome.revision["revisionSummary"] == "Second commit\n\nWith a body line."


@pytest.fixture
def versioned_source(session, app_name):
    s3 = session.client("s3")
    name = f"{app_name}-source"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    versions = []
    for content in (b"zip v1", b"zip v2"):
        put = s3.put_object(Bucket=name, Key="drop/app.zip", Body=content,
                            Metadata={"codepipeline-artifact-revision-summary": "drop " +
                                      content.decode()})
        versions.append((put["VersionId"], put["ETag"].strip('"')))
    return name, versions


@pytest.mark.parametrize("pin, expected_index", [("latest", 1), ("first version", 0)])
def test_s3_source_copies_the_object_version(local_aws, session, bucket, versioned_source, pin,
                                             expected_index, tmp_path):
    source_bucket, versions = versioned_source
    version_id, etag = versions[expected_index]
    pinned = {"S3_OBJECT_VERSION_ID": versions[0][0]} if pin == "first version" else None
    outcome = executor_for("Source", "S3").run(_context(
        local_aws, tmp_path, bucket, {"S3Bucket": source_bucket, "S3ObjectKey": "drop/app.zip",
                                      "PollForSourceChanges": "false"}, source_revision=pinned))

    assert outcome.status == "Succeeded", outcome.summary
    ref = outcome.output_artifacts[0]
    body = session.client("s3").get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
    assert body == [b"zip v1", b"zip v2"][expected_index]
    assert outcome.output_variables == {"ETag": etag, "VersionId": version_id}
    assert outcome.revision["revisionId"] == version_id
    assert outcome.revision["revisionSummary"] == ["drop zip v1", "drop zip v2"][expected_index]


@pytest.mark.parametrize("case", ["unversioned bucket", "missing key", "missing bucket"])
def test_s3_source_failures(local_aws, session, bucket, versioned_source, case, app_name,
                            tmp_path):
    source_bucket, _ = versioned_source
    key = "drop/app.zip"
    if case == "unversioned bucket":
        source_bucket = bucket
        session.client("s3").put_object(Bucket=bucket, Key=key, Body=b"x")
    elif case == "missing key":
        key = "drop/nope.zip"
    else:
        source_bucket = f"{app_name}-nope"
    outcome = executor_for("Source", "S3").run(_context(
        local_aws, tmp_path, bucket, {"S3Bucket": source_bucket, "S3ObjectKey": key}))

    assert outcome.status == "Failed", case
    assert source_bucket in outcome.summary


def test_git_zip_is_a_plain_zip_without_git_metadata(local_aws, session, repo, bucket):
    outcome = executor_for("Source", "CodeStarSourceConnection").run(
        _context(local_aws, repo["state"], bucket, _connection_config()))
    ref = outcome.output_artifacts[0]
    data = session.client("s3").get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert not any(n.startswith(".git/") for n in names)


def test_can_start_says_whether_a_first_run_could_fetch(local_aws, repo, versioned_source):
    aws, state = local_aws.app.context.aws, repo["state"]
    connection = executor_for("Source", "CodeStarSourceConnection")
    assert connection.can_start(aws, state, "us-east-1", _connection_config())
    assert not connection.can_start(aws, state, "us-east-1",
                                    _connection_config(BranchName="nope"))
    assert not connection.can_start(aws, state, "us-east-1",
                                    _connection_config(FullRepositoryId="acme/unknown"))
    s3_source = executor_for("Source", "S3")
    source_bucket, _ = versioned_source
    assert s3_source.can_start(aws, state, "us-east-1",
                               {"S3Bucket": source_bucket, "S3ObjectKey": "drop/app.zip"})
    assert not s3_source.can_start(aws, state, "us-east-1",
                                   {"S3Bucket": source_bucket, "S3ObjectKey": "drop/none.zip"})
