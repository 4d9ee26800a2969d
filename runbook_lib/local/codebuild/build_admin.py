"""Deleting builds and build batches: ``BatchDeleteBuilds`` and ``DeleteBuildBatch``.

As in CodeBuild, a finished build's record goes (BatchGetBuilds no longer finds it, its number
is not reused); a build still running is not deleted (``BUILD_IN_PROGRESS``), nor is an id
that names no build (``BUILD_NOT_FOUND``). Deleting a batch deletes its finished builds too
and answers which ones; a batch still running is refused. The build's logs in CloudWatch Logs
and its artifacts in S3 stay, as on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook_lib.local.codebuild.batches import CodeBuildBatches
from runbook_lib.local.codebuild.build_records import record_path
from runbook_lib.local.codebuild.builds import CodeBuildBuilds
from runbook_lib.local.server.paging import batch_members
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext


class CodeBuildBuildAdmin:
    """The two operations, over the builds and batches extensions' records."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx

    def routes(self):
        return {("codebuild", "BatchDeleteBuilds"): self.batch_delete_builds,
                ("codebuild", "DeleteBuildBatch"): self.delete_build_batch}

    @property
    def builds(self):
        return self.ctx.peers.get(CodeBuildBuilds)

    @property
    def batches(self):
        return self.ctx.peers.get(CodeBuildBatches)

    def batch_delete_builds(self, request: Request) -> Response:
        ids = batch_members(request.json(), "ids", "build ids")
        deleted, kept = self.delete(request.region, ids)
        return json_response({"buildsDeleted": deleted, "buildsNotDeleted": kept})

    def delete(self, region: str, ids: list[str]) -> tuple[list[str], list[dict[str, str]]]:
        """Delete finished builds; (deleted ids, [{id, statusCode}] not deleted)."""
        deleted, kept = [], []
        builds = self.builds
        with builds.store.transaction():
            mine = builds.builds.get(region, {})
            for given in ids:
                build_id = given.rsplit(":build/", 1)[-1]
                build = mine.get(build_id)
                if build is None:
                    kept.append({"id": given, "statusCode": "BUILD_NOT_FOUND"})
                elif not build.get("buildComplete"):
                    kept.append({"id": given, "statusCode": "BUILD_IN_PROGRESS"})
                else:
                    record_path(builds.builds_dir, region, build_id).unlink(missing_ok=True)
                    del mine[build_id]
                    builds.store.data["jobs"].pop(build_id, None)
                    deleted.append(given)
        return deleted, kept

    def delete_build_batch(self, request: Request) -> Response:
        given = request.json().get("id") or ""
        if not given:
            raise AwsError("InvalidInputException", "id is required: the build batch to delete")
        batch = self.batches.get(request.region, given)
        if batch is None:
            raise AwsError("ResourceNotFoundException", f"Build batch {given} not found")
        if not batch.get("complete"):
            raise AwsError("InvalidInputException", f"Build batch {given} is still in "
                           "progress; stop it (StopBuildBatch) before deleting it")
        with self.builds.store.lock:
            ids = [b["id"] for b in self.builds.builds.get(request.region, {}).values()
                   if b.get("buildBatchArn") == batch["arn"]]
        deleted, kept = self.delete(request.region, ids) if ids else ([], [])
        with self.batches.store.transaction():
            self.batches.store.data["batches"].get(request.region, {}).pop(batch["id"], None)
        answer: dict[str, Any] = {"statusCode": "BATCH_DELETED", "buildsDeleted": deleted,
                                  "buildsNotDeleted": kept}
        return json_response(answer)
