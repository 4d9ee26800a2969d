"""CodeBuild project webhooks: ``CreateWebhook``, ``UpdateWebhook``, ``DeleteWebhook``, and the
pushes that start builds.

On AWS, CodeBuild registers a webhook with GitHub (GitLab, Bitbucket) and each push event
starts a build of the project when one of its filter groups passes. Locally nobody pushes:
the operator commits in a folder registered with ``runbook local repo add OWNER/NAME PATH``,
the repository the project's source location names. A thread polls the branch and tag heads
of every repository a webhook watches (``RUNBOOK_LOCAL_POLL_SECONDS``, 1) and plays each
moved head as a push: filter groups are matched as CodeBuild does
(:mod:`.webhook_filters`), and a match starts a build (``buildType`` BUILD) or a batch
(BUILD_BATCH) at the pushed commit, with CodeBuild's ``CODEBUILD_WEBHOOK_*`` variables and
the initiator ``GitHub-Hookshot/<id>``. The first poll of a repository only remembers its
heads; the heads seen are kept in the state folder, so a restart replays nothing.

The webhook is kept on the project (BatchGetProjects shows it). Nothing is registered with
GitHub: ``url`` and ``payloadUrl`` have AWS's form but nothing serves them.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild import webhook_filters
from runbook_lib.local.codebuild.git_source import GIT_SOURCE_TYPES, registered, repo_id_of
from runbook_lib.local.codebuild.projects import CodeBuildProjects
from runbook_lib.local.codebuild.webhook_pushes import WebhookPushes
from runbook_lib.local.poller import Poller, poll_interval
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.builds")
BUILD_TYPES = ("BUILD", "BUILD_BATCH")


class CodeBuildWebhooks:
    """The three operations, and the poller that turns commits into pushes."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.pushes = WebhookPushes(ctx, self._projects_with_webhooks)
        self.poller = Poller("codebuild-webhooks", self.pushes.poll_once, poll_interval(), log)

    def routes(self):
        return {("codebuild", "CreateWebhook"): self.create_webhook,
                ("codebuild", "UpdateWebhook"): self.update_webhook,
                ("codebuild", "DeleteWebhook"): self.delete_webhook}

    @property
    def projects(self):
        return self.ctx.peers.get(CodeBuildProjects)

    def create_webhook(self, request: Request) -> Response:
        body = request.json()
        name = body.get("projectName", "")
        _check(body)
        with self.projects.store.transaction():
            project = self._project(request.region, name)
            if project.get("webhook"):
                raise AwsError("ResourceAlreadyExistsException", f"Webhook for project {name} "
                               "already exists; change it with UpdateWebhook")
            project["webhook"] = _webhook(request.region, project, body)
            answer = dict(project["webhook"])
        if registered(self.ctx.state_dir, project["source"].get("location", "")) is None:
            log.info("webhook of %s waits for repository %s to be registered (runbook local "
                     "repo add)", name, repo_id_of(project["source"].get("location", "")))
        return json_response({"webhook": answer})

    def update_webhook(self, request: Request) -> Response:
        body = request.json()
        _check(body)
        with self.projects.store.transaction():
            project = self._project(request.region, body.get("projectName", ""))
            webhook = project.get("webhook")
            if not webhook:
                raise AwsError("ResourceNotFoundException", f"Project {project['name']} has "
                               "no webhook; create one with CreateWebhook")
            for key in ("branchFilter", "filterGroups", "buildType"):
                if key in body:
                    webhook[key] = body[key]
            if body.get("rotateSecret"):
                webhook["lastModifiedSecret"] = time.time()
            answer = dict(webhook)
        return json_response({"webhook": answer})

    def delete_webhook(self, request: Request) -> Response:
        name = request.json().get("projectName", "")
        with self.projects.store.transaction():
            project = self._project(request.region, name)
            if not project.pop("webhook", None):
                raise AwsError("ResourceNotFoundException", f"Project {name} has no webhook")
        return json_response({})

    def _project(self, region: str, name: str) -> dict[str, Any]:
        """The stored project itself (the caller holds the projects store's transaction)."""
        project = self.projects.store.data.get(region, {}).get(name.rsplit("project/", 1)[-1])
        if project is None:
            raise AwsError("ResourceNotFoundException", f"Project {name} does not exist")
        if project["source"].get("type") not in GIT_SOURCE_TYPES:
            raise AwsError("InvalidInputException", f"Project {name} has source type "
                           f"{project['source'].get('type')}; webhooks need "
                           f"{', '.join(GIT_SOURCE_TYPES)}")
        return project

    def _projects_with_webhooks(self) -> list[tuple[str, dict[str, Any]]]:
        with self.projects.store.lock:
            return [(region, dict(p)) for region, projects in self.projects.store.data.items()
                    for p in projects.values() if p.get("webhook")]

    def start(self) -> None:
        self.poller.start()

    def close(self) -> None:
        self.poller.close()


def _check(body: dict[str, Any]) -> None:
    if body.get("buildType", "BUILD") not in BUILD_TYPES:
        raise AwsError("InvalidInputException", f"buildType must be one of "
                       f"{', '.join(BUILD_TYPES)}")
    webhook_filters.validate(body.get("filterGroups") or [], body.get("branchFilter"))


def _webhook(region: str, project: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    repo = repo_id_of(project["source"].get("location", "")) or project["name"]
    token = uuid.uuid4().hex
    return {"url": f"https://api.github.com/repos/{repo}/hooks/{token[:9]}",
            "payloadUrl": f"https://codebuild.{region}.amazonaws.com/webhooks?t={token}&v=1",
            "branchFilter": body.get("branchFilter") or "",
            "filterGroups": body.get("filterGroups") or [],
            "buildType": body.get("buildType") or "BUILD",
            "manualCreation": bool(body.get("manualCreation")),
            "lastModifiedSecret": time.time()}
