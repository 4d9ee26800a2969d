"""Push triggers: a commit in a registered local repository starts pipelines, as a push would.

AWS starts a pipeline when its connection reports a push (a webhook) or, for CodeCommit, when
EventBridge sees a reference change. Locally nobody pushes anywhere: the operator commits in a
folder. So a background thread polls the branch and tag heads of every repository a pipeline's
source names and treats each moved head as a push, with AWS's semantics:

- a pipeline with ``triggers`` for the source action (V2 trigger filters): a push starts it when
  one of the ``push`` filters matches (OR between filters, AND inside one; excludes win; glob
  patterns), with trigger type ``WebhookV2``;
- without triggers, ``DetectChanges`` (default true) on the action's ``BranchName`` starts it,
  trigger type ``Webhook``; a CodeCommit source starts on its ``BranchName`` as its EventBridge
  rule would (``CloudWatchEvent``, or ``PollForSourceChanges`` when that is set to true);
- the first time a pipeline's source is seen, its heads are remembered and nothing starts.

The last heads seen are kept in the state directory, so a restart does not replay old commits.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from runbook_lib.local.codepipeline.repos import RepoRegistry, RepositoryError
from runbook_lib.local.poller import Poller, poll_interval
from runbook_lib.local.server.store import JsonStore

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.triggers")

STATE_FILE = "source-triggers.json"
GIT_PROVIDERS = ("CodeStarSourceConnection", "CodeCommit")
_BRANCH = "refs/heads/"
_TAG = "refs/tags/"


@runtime_checkable
class PipelineStarter(Protocol):
    """The narrow part of the pipeline service the watcher uses."""

    def declarations(self, region: str) -> Any: ...

    def start_execution(self, region: str, name: str, *, trigger_type: str, trigger_detail: str,
                        source_revisions: list[dict[str, str]]) -> Any: ...


@dataclass(frozen=True)
class WatchedSource:
    """A git source action of a pipeline and what makes it start."""

    pipeline: str
    action: str
    provider: str
    repo_id: str
    branch: str
    trigger_type: str
    trigger_detail: str
    # Push filters of the V2 trigger naming this action; None: only BranchName starts it.
    push_filters: tuple[dict, ...] | None


@dataclass(frozen=True)
class Push:
    ref: str
    old: str | None
    new: str


class PushWatcher:
    """Compares branch and tag heads with those last seen and starts the pipelines a push
    would start. ``poll_once`` is the whole job; the extension calls it on a timer."""

    def __init__(self, service: PipelineStarter, registry: RepoRegistry, state_path: Path,
                 account_id: str = "123456789012") -> None:
        self.service = service
        self.registry = registry
        self.store = JsonStore(state_path, {})
        self.account_id = account_id
        self._lock = threading.Lock()

    def regions(self) -> list[str]:
        """Regions with pipelines: the service's answer, else us-east-1 and the configured one."""
        ask = getattr(self.service, "regions", None)
        if callable(ask):
            return sorted(ask())
        found = {"us-east-1"}
        for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if os.environ.get(var):
                found.add(os.environ[var])
        return sorted(found)

    def poll_once(self) -> list[tuple[str, str, Push]]:
        """One pass over every region; returns (region, pipeline, push) for each start."""
        started = []
        with self._lock, self.store.transaction():
            heads_now: dict[str, dict[str, str] | None] = {}  # repo id -> refs, once per pass
            for region in self.regions():
                sources = watched_sources(self.service.declarations(region), region,
                                          self.account_id)
                started += self._poll_region(region, sources, heads_now)
        return started

    def _poll_region(self, region: str, sources: list[WatchedSource],
                     heads_now: dict[str, dict[str, str] | None]) -> list[tuple[str, str, Push]]:
        seen_region = self.store.data.setdefault(region, {})
        live = {(s.pipeline, s.action) for s in sources}
        for pipeline in list(seen_region):  # forget deleted pipelines and removed actions
            for action in list(seen_region[pipeline]):
                if (pipeline, action) not in live:
                    del seen_region[pipeline][action]
            if not seen_region[pipeline]:
                del seen_region[pipeline]
        started = []
        for source in sources:
            if source.repo_id not in heads_now:
                heads_now[source.repo_id] = self._read_heads(source.repo_id)
            current = heads_now[source.repo_id]
            if current is None:  # not registered (any more): start afresh once it is
                seen_region.get(source.pipeline, {}).pop(source.action, None)
                continue
            entry = seen_region.setdefault(source.pipeline, {}).get(source.action)
            seen_region[source.pipeline][source.action] = {"repo": source.repo_id,
                                                           "refs": current}
            if entry is None or entry.get("repo") != source.repo_id:
                log.info("watching %s for pipeline %s (%s)", source.repo_id, source.pipeline,
                         region)
                continue
            for push in _pushes(entry.get("refs", {}), current):
                if self._starts(source, push):
                    self._start(region, source, push)
                    started.append((region, source.pipeline, push))
        return started

    def _read_heads(self, repo_id: str) -> dict[str, str] | None:
        repo = self.registry.get(repo_id)
        if repo is None:
            return None
        try:
            return repo.git().refs()
        except RepositoryError as err:
            log.warning("cannot read repository %s: %s", repo_id, err)
            return None

    def _starts(self, source: WatchedSource, push: Push) -> bool:
        if source.push_filters is None:
            return push.ref == _BRANCH + source.branch
        return any(self._filter_matches(source, f, push) for f in source.push_filters)

    def _filter_matches(self, source: WatchedSource, push_filter: dict, push: Push) -> bool:
        if push_filter.get("tags"):
            return push.ref.startswith(_TAG) and matches_filter(
                push_filter["tags"], push.ref[len(_TAG):])
        if not push.ref.startswith(_BRANCH):
            return False
        if push_filter.get("branches") and not matches_filter(push_filter["branches"],
                                                              push.ref[len(_BRANCH):]):
            return False
        if not push_filter.get("branches") and push.ref != _BRANCH + source.branch:
            return False  # a trigger with no branch filter follows the action's BranchName
        paths = push_filter.get("filePaths")
        if paths:
            repo = self.registry.get(source.repo_id)
            changed = repo.git().changed_files(push.old, push.new) if repo else []
            return any(matches_filter(paths, path) for path in changed)
        return True

    def _start(self, region: str, source: WatchedSource, push: Push) -> None:
        log.info("%s moved to %s: starting pipeline %s (%s)", push.ref, push.new[:12],
                 source.pipeline, source.trigger_type)
        try:
            self.service.start_execution(
                region, source.pipeline, trigger_type=source.trigger_type,
                trigger_detail=source.trigger_detail,
                source_revisions=[{"actionName": source.action, "revisionType": "COMMIT_ID",
                                   "revisionValue": push.new}])
        except Exception:  # one pipeline's refusal must not stop the watcher for the others
            log.exception("starting pipeline %s in %s after a push to %s failed",
                          source.pipeline, region, push.ref)


def watched_sources(declarations: Any, region: str,
                    account_id: str = "123456789012") -> list[WatchedSource]:
    """The git source actions of the pipelines (a list of declarations, a name -> declaration
    mapping, or GetPipeline answers) that a push can start."""
    if isinstance(declarations, dict):
        declarations = list(declarations.values())
    found = []
    for decl in declarations or []:
        decl = decl.get("pipeline", decl)
        triggers = {t.get("gitConfiguration", {}).get("sourceActionName"): t
                    for t in decl.get("triggers") or []}
        for stage in decl.get("stages", []):
            for action in stage.get("actions", []):
                source = _watched(decl["name"], action, triggers.get(action.get("name")),
                                  region, account_id)
                if source:
                    found.append(source)
    return found


def _watched(pipeline: str, action: dict, trigger: dict | None, region: str,
             account_id: str) -> WatchedSource | None:
    type_id = action.get("actionTypeId", {})
    provider = type_id.get("provider")
    if type_id.get("category") != "Source" or provider not in GIT_PROVIDERS:
        return None
    cfg = action.get("configuration") or {}
    branch = cfg.get("BranchName", "")
    if provider == "CodeCommit":
        repo_id = cfg.get("RepositoryName", "")
        polling = str(cfg.get("PollForSourceChanges", "false")).lower() == "true"
        return WatchedSource(pipeline, action["name"], provider, repo_id, branch,
                             "PollForSourceChanges" if polling else "CloudWatchEvent",
                             f"arn:aws:codecommit:{region}:{account_id}:{repo_id}", None)
    repo_id = cfg.get("FullRepositoryId", "")
    detail = cfg.get("ConnectionArn", "") or repo_id
    if trigger is not None:
        git = trigger.get("gitConfiguration", {})
        push = git.get("push")
        if push is None and git.get("pullRequest"):
            return None  # pull requests do not exist locally; pushes start nothing
        filters = tuple(push) if push else ({},)  # a trigger without filters: BranchName
        return WatchedSource(pipeline, action["name"], provider, repo_id, branch, "WebhookV2",
                             detail, filters)
    if str(cfg.get("DetectChanges", "true")).lower() != "true":
        return None
    return WatchedSource(pipeline, action["name"], provider, repo_id, branch, "Webhook", detail,
                         None)


def _pushes(before: dict[str, str], after: dict[str, str]) -> list[Push]:
    """Refs created or moved since the last look (deletions start nothing)."""
    return [Push(ref, before.get(ref), sha) for ref, sha in sorted(after.items())
            if before.get(ref) != sha]


def matches_filter(criteria: dict, name: str) -> bool:
    """AWS's include/exclude rule: excluded names never match; with includes, a name must
    match one; with only excludes, everything else matches."""
    if any(glob_matches(p, name) for p in criteria.get("excludes") or []):
        return False
    includes = criteria.get("includes") or []
    return not includes or any(glob_matches(p, name) for p in includes)


def glob_matches(pattern: str, name: str) -> bool:
    """Glob as CodePipeline filters use it: ``*`` within one path segment, ``**`` across
    segments, ``?`` one character, ``[...]`` a set, ``{a,b}`` alternatives, ``\\`` escapes."""
    return _glob_regex(pattern).fullmatch(name) is not None


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern:
    out, i, depth = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more directories
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "{":
            out.append("(?:")
            depth += 1
        elif ch == "}" and depth:
            out.append(")")
            depth -= 1
        elif ch == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + ")" * depth)


class SourceTriggers:
    """Extension: runs the :class:`PushWatcher` every ``RUNBOOK_LOCAL_POLL_SECONDS`` (1)."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.watcher: PushWatcher | None = None
        self.poller: Poller | None = None

    def routes(self):
        return {}

    def start(self) -> None:
        # a runtime_checkable protocol, matched by isinstance (mypy wants a concrete class)
        service = self.ctx.peers.find(PipelineStarter)  # type: ignore[type-abstract]
        if service is None:
            log.warning("no pipeline service (a PipelineStarter) runs: commits in registered "
                        "repositories will not start pipelines")
            return
        self.watcher = PushWatcher(service, RepoRegistry(self.ctx.state_dir),
                                   Path(self.ctx.state_dir) / STATE_FILE)
        self.poller = Poller("source-triggers", self.watcher.poll_once, poll_interval(), log)
        self.poller.start()

    def close(self) -> None:
        if self.poller is not None:
            self.poller.close()
