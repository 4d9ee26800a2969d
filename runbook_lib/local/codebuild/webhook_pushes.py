"""Commits in registered repositories played as pushes to CodeBuild webhooks.

One pass (:meth:`WebhookPushes.poll_once`) reads the branch and tag heads of the repository
each webhook's project names, compares them with those seen last time (kept in
``codebuild-webhook-heads.json``), and for each head that moved or appeared asks the filter
groups (:mod:`.webhook_filters`) whether it starts a build. A deleted ref starts nothing; a
project seen for the first time (or whose repository changed) only has its heads remembered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild.builds import CodeBuildBuilds
from runbook_lib.local.codebuild.git_source import registered, repo_id_of
from runbook_lib.local.codebuild.webhook_filters import Push, starts_build, trigger_variables
from runbook_lib.local.codepipeline.repos import RegisteredRepo, RepositoryError
from runbook_lib.local.server.store import JsonStore

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.builds")
STATE_FILE = "codebuild-webhook-heads.json"


class WebhookPushes:
    """Plays moved heads as pushes; ``projects`` lists (region, project) with webhooks."""

    def __init__(self, ctx: LocalContext,
                 projects: Callable[[], list[tuple[str, dict[str, Any]]]]) -> None:
        self.ctx = ctx
        self.projects = projects
        self.store = JsonStore(ctx.state_dir / STATE_FILE, {})

    def poll_once(self) -> list[tuple[str, str]]:
        """One pass; returns (project, pushed commit) for each build or batch started."""
        started = []
        live = {(region, p["name"]) for region, p in self.projects()}
        with self.store.transaction() as seen:
            for region in list(seen):  # forget projects deleted or without webhook now
                for name in [n for n in seen[region] if (region, n) not in live]:
                    del seen[region][name]
            for region, project in self.projects():
                started += self._poll_project(seen.setdefault(region, {}), region, project)
        return started

    def _poll_project(self, seen: dict, region: str, project: dict) -> list[tuple[str, str]]:
        location = project["source"].get("location", "")
        repo = registered(self.ctx.state_dir, location)
        if repo is None:
            seen.pop(project["name"], None)  # start afresh once it is registered
            return []
        try:
            current = repo.git().refs()
        except RepositoryError as err:
            log.warning("cannot read repository %s: %s", repo.repo_id, err)
            return []
        entry = seen.get(project["name"])
        seen[project["name"]] = {"repo": repo.repo_id, "refs": current}
        if entry is None or entry.get("repo") != repo.repo_id:
            return []
        started = []
        before = entry.get("refs", {})
        for ref, new in sorted(current.items()):
            if before.get(ref) == new:
                continue
            push = _push(repo, ref, before.get(ref), new, repo_id_of(location) or "")
            if starts_build(project["webhook"], push) and self._start(region, project, push):
                started.append((project["name"], new))
        return started

    def _start(self, region: str, project: dict, push: Push) -> bool:
        """Start the build (or batch) the push asks for; a refusal is logged, not raised."""
        variables = [{"name": k, "value": v, "type": "PLAINTEXT"}
                     for k, v in trigger_variables(push).items()]
        body = {"projectName": project["name"], "sourceVersion": push.new,
                "environmentVariablesOverride": variables}
        log.info("%s moved to %s: webhook of project %s starts a %s", push.ref, push.new[:12],
                 project["name"], project["webhook"].get("buildType", "BUILD"))
        try:
            if project["webhook"].get("buildType") == "BUILD_BATCH":
                self.ctx.aws.client("codebuild", region).start_build_batch(**body)
            else:
                self.ctx.peers.get(CodeBuildBuilds).start_for_webhook(
                    region, body, f"GitHub-Hookshot/{push.new[:7]}")
        except Exception:  # one project's refusal must not stop the others' pushes
            log.exception("starting a build of %s after a push to %s failed",
                          project["name"], push.ref)
            return False
        return True


def _push(repo: RegisteredRepo, ref: str, old: str | None, new: str, repo_id: str) -> Push:
    """A push whose changed files and commit details are read from git only when a filter
    asks for them."""
    git = repo.git()

    @cache
    def info():
        return git.commit_info(new)

    return Push(ref=ref, old=old, new=new, repository=repo_id,
                changed_files=cache(lambda: git.changed_files(old, new)),
                message=lambda: info().message, author=lambda: info().author_name)
