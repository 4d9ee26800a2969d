"""Push triggers: commits in registered repositories start pipelines as AWS's triggers would.

The watcher takes the pipeline service as a dependency; most tests give it a recording stand-in
(declarations in, start_execution calls out) and real git repositories, and call ``poll_once``
so no test waits on a timer. One test runs the extension's background thread.
"""

from __future__ import annotations

import io
import os
import zipfile
from types import SimpleNamespace

import pytest
from helpers import codebuild_stage, git, git_commit, wait_until

from runbook_lib.local.codepipeline.repos import RepoRegistry
from runbook_lib.local.codepipeline.triggers import (
    STATE_FILE,
    PushWatcher,
    SourceTriggers,
    glob_matches,
    matches_filter,
)
from runbook_lib.local.server.context import Peers

CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc-123"
class RecordingPipelines:
    """Stands in for CodePipelineService: declarations in, start_execution calls recorded."""

    def __init__(self) -> None:
        self.pipelines: dict[str, dict[str, dict]] = {}
        self.started: list[dict] = []
        self.refuse: set[str] = set()

    def declarations(self, region):
        return list(self.pipelines.get(region, {}).values())

    def start_execution(self, region, name, *, trigger_type, trigger_detail, source_revisions):
        if name in self.refuse:
            raise RuntimeError(f"pipeline {name} refuses to start")
        self.started.append({"region": region, "name": name, "trigger_type": trigger_type,
                             "trigger_detail": trigger_detail,
                             "source_revisions": source_revisions})

    def put(self, declaration, region="us-east-1"):
        self.pipelines.setdefault(region, {})[declaration["name"]] = declaration


def _pipeline(name, source_config, provider="CodeStarSourceConnection", triggers=None):
    decl = {
        "name": name, "pipelineType": "V2", "version": 1,
        "roleArn": "arn:aws:iam::123456789012:role/pipeline",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": provider,
                                 "version": "1"},
                "configuration": source_config, "outputArtifacts": [{"name": "SourceOutput"}]}]},
            codebuild_stage("p", "SourceOutput"),
        ],
    }
    if triggers is not None:
        decl["triggers"] = triggers
    return decl


def _connection(branch="main", **extra):
    return {"ConnectionArn": CONNECTION, "FullRepositoryId": "acme/sample-app",
            "BranchName": branch, **extra}


def _push_trigger(*push):
    return [{"providerType": "CodeStarSourceConnection",
             "gitConfiguration": {"sourceActionName": "Source", "push": list(push)}}]


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "sample-app"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git_commit(path, {"README.md": "hello\n", "src/app.js": "1\n"}, "first")
    return path


@pytest.fixture
def state(tmp_path, repo):
    state_dir = tmp_path / "state"
    RepoRegistry(state_dir).add("acme/sample-app", repo)
    return state_dir


@pytest.fixture
def service():
    return RecordingPipelines()


@pytest.fixture
def watcher(service, state, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    return PushWatcher(service, RepoRegistry(state), state / STATE_FILE)


def _revisions(service):
    return [s["source_revisions"][0]["revisionValue"] for s in service.started]


def test_commit_on_the_watched_branch_starts_once_and_other_branches_do_not(
        service, watcher, repo):
    service.put(_pipeline("app", _connection()))
    assert watcher.poll_once() == []  # first sight: heads remembered, nothing started
    sha = git_commit(repo, {"src/app.js": "2\n"})
    watcher.poll_once()
    watcher.poll_once()  # nothing new: no second start
    assert service.started == [{
        "region": "us-east-1", "name": "app", "trigger_type": "Webhook",
        "trigger_detail": CONNECTION,
        "source_revisions": [{"actionName": "Source", "revisionType": "COMMIT_ID",
                              "revisionValue": sha}]}]

    git(repo, "checkout", "-q", "-b", "feature/x")
    git_commit(repo, {"src/app.js": "3\n"})
    watcher.poll_once()
    assert len(service.started) == 1


def test_detect_changes_false_starts_nothing(service, watcher, repo):
    service.put(_pipeline("app", _connection(DetectChanges="false")))
    watcher.poll_once()
    git_commit(repo, {"src/app.js": "2\n"})
    watcher.poll_once()
    assert service.started == []


@pytest.mark.parametrize(
    "case, push_filter, branch, starts",
    [
        ("included branch", {"branches": {"includes": ["release/**"]}}, "release/1.0", True),
        ("excluded wins", {"branches": {"includes": ["release/**"],
                                        "excludes": ["release/old*"]}}, "release/old-1", False),
        ("not included", {"branches": {"includes": ["release/**"]}}, "feature/y", False),
        ("only excludes", {"branches": {"excludes": ["wip-*"]}}, "feature-z", True),
        ("tag filter ignores branches", {"tags": {"includes": ["v*"]}}, "v-branch", False),
        ("trigger without filters follows BranchName", {}, "release/1.0", False),
    ],
)
def test_v2_branch_filters(service, watcher, repo, case, push_filter, branch, starts):
    service.put(_pipeline("app", _connection(), triggers=_push_trigger(push_filter)))
    watcher.poll_once()
    git(repo, "checkout", "-q", "-b", branch)
    sha = git_commit(repo, {"src/app.js": branch})
    watcher.poll_once()
    assert _revisions(service) == ([sha] if starts else []), case
    assert all(s["trigger_type"] == "WebhookV2" for s in service.started)


def test_v2_trigger_disables_default_detection_on_the_branch(service, watcher, repo):
    triggers = _push_trigger({"branches": {"includes": ["release/*"]}})
    service.put(_pipeline("app", _connection(DetectChanges="true"), triggers=triggers))
    watcher.poll_once()
    git_commit(repo, {"src/app.js": "main moves\n"})
    watcher.poll_once()
    assert service.started == []


def test_v2_tag_filter_starts_on_a_new_matching_tag(service, watcher, repo):
    service.put(_pipeline("app", _connection(), triggers=_push_trigger(
        {"tags": {"includes": ["v*"], "excludes": ["v0.*"]}})))
    watcher.poll_once()
    sha = git_commit(repo, {"src/app.js": "release\n"})
    git(repo, "tag", "-a", "v0.9", "-m", "old line")
    watcher.poll_once()
    assert service.started == []  # main moved (no branch filter) and v0.9 is excluded
    git(repo, "tag", "-a", "v1.0", "-m", "release 1.0")
    watcher.poll_once()
    assert _revisions(service) == [sha]  # the annotated tag's commit, not the tag object


@pytest.mark.parametrize(
    "case, changed, starts",
    [("source change", {"src/app.js": "2\n"}, True),
     ("docs only", {"docs/guide.md": "x\n", "README.md": "y\n"}, False)],
)
def test_v2_file_path_filters(service, watcher, repo, case, changed, starts):
    service.put(_pipeline("app", _connection(), triggers=_push_trigger(
        {"branches": {"includes": ["main"]},
         "filePaths": {"includes": ["src/**", "**/*.md"], "excludes": ["docs/**", "README.md"]}})))
    watcher.poll_once()
    git_commit(repo, changed)
    watcher.poll_once()
    assert len(service.started) == (1 if starts else 0), case


def test_codecommit_source_starts_as_its_eventbridge_rule_would(service, watcher, repo, state):
    RepoRegistry(state).add("shop", repo)
    service.put(_pipeline("shop-app", {"RepositoryName": "shop", "BranchName": "main"},
                          provider="CodeCommit"), region="eu-west-1")
    service.regions = lambda: ["eu-west-1"]
    watcher.poll_once()
    sha = git_commit(repo, {"src/app.js": "2\n"})
    watcher.poll_once()
    assert service.started == [{
        "region": "eu-west-1", "name": "shop-app", "trigger_type": "CloudWatchEvent",
        "trigger_detail": "arn:aws:codecommit:eu-west-1:123456789012:shop",
        "source_revisions": [{"actionName": "Source", "revisionType": "COMMIT_ID",
                              "revisionValue": sha}]}]


def test_restart_does_not_replay_seen_commits_but_catches_up_on_new_ones(service, state, repo):
    service.put(_pipeline("app", _connection()))
    PushWatcher(service, RepoRegistry(state), state / STATE_FILE).poll_once()
    seen = git_commit(repo, {"src/app.js": "2\n"})
    PushWatcher(service, RepoRegistry(state), state / STATE_FILE).poll_once()
    assert _revisions(service) == [seen]

    restarted = PushWatcher(service, RepoRegistry(state), state / STATE_FILE)
    restarted.poll_once()
    assert _revisions(service) == [seen]  # nothing replayed
    while_down = git_commit(repo, {"src/app.js": "3\n"})
    PushWatcher(service, RepoRegistry(state), state / STATE_FILE).poll_once()
    assert _revisions(service) == [seen, while_down]


def test_unregistered_repository_is_watched_from_its_registration(service, watcher, repo, state):
    service.put(_pipeline("app", _connection()))
    RepoRegistry(state).remove("acme/sample-app")
    watcher.poll_once()
    git_commit(repo, {"src/app.js": "2\n"})
    watcher.poll_once()
    assert service.started == []
    RepoRegistry(state).add("acme/sample-app", repo)
    watcher.poll_once()  # first sight since registration
    assert service.started == []
    sha = git_commit(repo, {"src/app.js": "3\n"})
    watcher.poll_once()
    assert _revisions(service) == [sha]


def test_one_pipeline_refusing_to_start_does_not_stop_the_others(service, watcher, repo):
    service.put(_pipeline("broken", _connection()))
    service.put(_pipeline("healthy", _connection()))
    service.refuse.add("broken")
    watcher.poll_once()
    git_commit(repo, {"src/app.js": "2\n"})
    watcher.poll_once()
    assert [s["name"] for s in service.started] == ["healthy"]


def test_extension_thread_polls_and_stops_on_close(service, state, repo, monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCAL_POLL_SECONDS", "0.05")
    service.put(_pipeline("app", _connection()))
    peers = Peers()
    peers.add(service)
    ctx = SimpleNamespace(state_dir=state, peers=peers)
    triggers = SourceTriggers(ctx)
    triggers.start()
    try:
        wait_until(lambda: (state / STATE_FILE).exists(), what="the first poll to save its state")
        sha = git_commit(repo, {"src/app.js": "2\n"})
        wait_until(lambda: _revisions(service) == [sha], what="the commit to start the pipeline",
                   describe=lambda: service.started)
    finally:
        triggers.close()
    assert triggers.poller is not None and not triggers.poller.alive


def test_extension_without_pipeline_service_stays_idle(state):
    triggers = SourceTriggers(SimpleNamespace(state_dir=state, peers=Peers()))
    triggers.start()
    triggers.close()
    assert triggers.watcher is None


@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("main", "main", True),
        ("main", "mainline", False),
        ("release/*", "release/1.0", True),
        ("release/*", "release/1.0/hotfix", False),
        ("release/**", "release/1.0/hotfix", True),
        ("feature-?", "feature-a", True),
        ("**/README.md", "README.md", True),
        ("**/README.md", "docs/a/README.md", True),
        ("common/**/*.js", "common/x/y/z.js", True),
        ("common/**/*.js", "common/z.ts", False),
        ("v[0-9]*", "v1.2", True),
        ("v[!0-9]*", "v1.2", False),
        ("{main,develop}", "develop", True),
        ("release\\*", "release*", True),
        ("release\\*", "release1", False),
        ("a.b", "axb", False),
    ],
)
def test_glob_patterns(pattern, name, expected):
    assert glob_matches(pattern, name) is expected


def test_filter_criteria_rule():
    assert matches_filter({}, "anything")
    assert not matches_filter({"includes": ["a*"], "excludes": ["ab"]}, "ab")
    assert matches_filter({"includes": ["a*"], "excludes": ["ab"]}, "ac")


def test_state_file_lives_in_the_state_dir(watcher, service, state):
    service.put(_pipeline("app", _connection()))
    watcher.poll_once()
    assert (state / STATE_FILE).is_file()
    assert os.path.dirname(watcher.store.path) == str(state)


# -- through the real CodePipelineService of the shared local AWS ---------------------------------

_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
          '{"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


@pytest.fixture
def live_watcher(local_aws):
    triggers = local_aws.app.context.peers.find(SourceTriggers)
    if triggers is None or triggers.watcher is None:
        pytest.skip("the local AWS runs without CodePipelineService or SourceTriggers")
    return triggers.watcher


def _executions(cp, name, trigger_type):
    pages = cp.get_paginator("list_pipeline_executions").paginate(pipelineName=name)
    return [e for page in pages for e in page["pipelineExecutionSummaries"]
            if e.get("trigger", {}).get("triggerType") == trigger_type]


def test_commit_on_main_runs_the_real_pipeline_with_that_commit(local_aws, session, app_name,
                                                                tmp_path, live_watcher):
    ctx = local_aws.app.context
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git_commit(repo, {"README.md": "v1\n"}, "first")
    repo_id = f"acme/{app_name}"
    RepoRegistry(ctx.state_dir).add(repo_id, repo)
    role = session.client("iam").create_role(RoleName=f"{app_name}-pipeline",
                                             AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"]
    session.client("s3").create_bucket(Bucket=f"{app_name}-artifacts")
    declaration = _pipeline(app_name, {**_connection(), "FullRepositoryId": repo_id})
    declaration.update(roleArn=role, artifactStore={"type": "S3",
                                                    "location": f"{app_name}-artifacts"})
    declaration["stages"][1]["actions"][0]["configuration"] = {"ProjectName": app_name}
    cp = session.client("codepipeline")
    cp.create_pipeline(pipeline=declaration)

    live_watcher.poll_once()  # the watcher has seen the pipeline: the next commit is a push
    sha = git_commit(repo, {"README.md": "v2\n"}, "Second on main")
    live_watcher.poll_once()
    wait_until(lambda: _executions(cp, app_name, "Webhook"), what="a Webhook execution",
               describe=lambda: cp.list_pipeline_executions(pipelineName=app_name))
    [summary] = _executions(cp, app_name, "Webhook")
    assert summary["trigger"]["triggerDetail"] == CONNECTION
    execution_id = summary["pipelineExecutionId"]

    def revisions():
        return cp.get_pipeline_execution(pipelineName=app_name, pipelineExecutionId=execution_id)[
            "pipelineExecution"].get("artifactRevisions")

    wait_until(revisions, what="the source action's revision")
    assert revisions()[0]["revisionId"] == sha
    [summary] = _executions(cp, app_name, "Webhook")
    assert [r["revisionId"] for r in summary["sourceRevisions"]] == [sha]
    details = cp.list_action_executions(pipelineName=app_name,
                                        filter={"pipelineExecutionId": execution_id})
    source = next(d for d in details["actionExecutionDetails"] if d["actionName"] == "Source")
    location = source["output"]["outputArtifacts"][0]["s3location"]
    data = session.client("s3").get_object(Bucket=location["bucket"], Key=location["key"])[
        "Body"].read()
    assert zipfile.ZipFile(io.BytesIO(data)).read("README.md") == b"v2\n"
    assert source["output"]["outputVariables"]["CommitId"] == sha

    git(repo, "checkout", "-q", "-b", "feature/elsewhere")
    git_commit(repo, {"README.md": "v3\n"}, "on a feature branch")
    live_watcher.poll_once()
    assert len(_executions(cp, app_name, "Webhook")) == 1
