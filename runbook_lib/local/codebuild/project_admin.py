"""CodeBuild's housekeeping operations: caches, source credentials, curated images.

- ``InvalidateProjectCache`` empties the project's cache, wherever the local CodeBuild keeps
  it (the LOCAL cache folder of the state directory, or the entries it wrote under the S3
  cache location), so the next build starts cold; an unknown project is
  ``ResourceNotFoundException``.
- Source credentials (``ImportSourceCredentials``, ``ListSourceCredentials``,
  ``DeleteSourceCredentials``) are recorded by server type, as AWS does: one per server type,
  re-importing replaces it only with ``shouldOverwrite``. The token itself is never kept (the
  local AWS clones registered local repositories and needs none) and never returned.
- ``ListCuratedEnvironmentImages`` lists CodeBuild's managed images. Builds run on this
  machine whatever image a project names.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runbook_lib.local.codebuild.projects import CodeBuildProjects
from runbook_lib.local.codepipeline.records import ACCOUNT_ID
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

SERVER_TYPES = ("GITHUB", "BITBUCKET", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED")
AUTH_TYPES = ("OAUTH", "BASIC_AUTH", "PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS",
              "SECRETS_MANAGER")
# platform -> language -> [(image name, description, versions)]
_IMAGES = {
    "AMAZON_LINUX_2": {"STANDARD": [
        ("aws/codebuild/amazonlinux2-x86_64-standard:5.0", "Amazon Linux 2023 x86_64 standard",
         ["5.0"]),
        ("aws/codebuild/amazonlinux2-aarch64-standard:3.0", "Amazon Linux 2023 aarch64 "
                                                            "standard", ["3.0"])]},
    "UBUNTU": {"STANDARD": [
        ("aws/codebuild/standard:7.0", "Ubuntu 22.04 standard", ["7.0"]),
        ("aws/codebuild/standard:6.0", "Ubuntu 22.04 standard", ["6.0"])]},
    "WINDOWS_SERVER_2019": {"STANDARD": [
        ("aws/codebuild/windows-base:2019-3.0", "Windows Server Core 2019", ["3.0"])]},
}


class CodeBuildProjectAdmin:
    """The operations above; project lookups go through the projects extension."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codebuild-source-credentials.json", {})

    def routes(self):
        ops = ("InvalidateProjectCache", "ImportSourceCredentials", "ListSourceCredentials",
               "DeleteSourceCredentials", "ListCuratedEnvironmentImages")
        return {("codebuild", op): getattr(self, _snake(op)) for op in ops}

    def invalidate_project_cache(self, request: Request) -> Response:
        name = request.json().get("projectName", "")
        project = self.ctx.peers.get(CodeBuildProjects).get(request.region, name)
        if project is None:
            raise AwsError("ResourceNotFoundException", f"Project cannot be found: {name}")
        shutil.rmtree(self.ctx.state_dir / "cache" / request.region / project["name"],
                      ignore_errors=True)
        cache = project.get("cache") or {}
        if cache.get("type") == "S3" and cache.get("location"):
            self._empty_s3_cache(request.region, cache["location"], project["name"])
        return json_response({})

    def _empty_s3_cache(self, region: str, location: str, project: str) -> None:
        """Delete the cache entries the local CodeBuild wrote: ``<location>/<project>/*``."""
        bucket, _, prefix = location.removeprefix("arn:aws:s3:::").partition("/")
        prefix = "/".join(p for p in (prefix.strip("/"), project) if p) + "/"
        s3 = self.ctx.aws.client("s3", region)
        try:
            for listed in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix):
                for item in listed.get("Contents", []):
                    if item["Key"].endswith(".tar.gz"):
                        s3.delete_object(Bucket=bucket, Key=item["Key"])
        except ClientError as err:
            if err.response["Error"]["Code"] != "NoSuchBucket":
                raise

    def import_source_credentials(self, request: Request) -> Response:
        body = request.json()
        server, auth = body.get("serverType"), body.get("authType")
        if server not in SERVER_TYPES or auth not in AUTH_TYPES:
            raise AwsError("InvalidInputException", f"serverType must be one of "
                           f"{', '.join(SERVER_TYPES)} and authType one of {', '.join(AUTH_TYPES)}")
        if not body.get("token"):
            raise AwsError("InvalidInputException", "token is required")
        if auth == "BASIC_AUTH" and server != "BITBUCKET":
            raise AwsError("InvalidInputException", "BASIC_AUTH is for BITBUCKET only")
        arn = f"arn:aws:codebuild:{request.region}:{ACCOUNT_ID}:token/{server.lower()}"
        with self.store.transaction():
            mine = self.store.data.setdefault(request.region, {})
            if server in mine and not body.get("shouldOverwrite", True):
                raise AwsError("ResourceAlreadyExistsException", f"Source credentials for "
                               f"{server} already exist; set shouldOverwrite to replace them")
            mine[server] = {"arn": arn, "serverType": server, "authType": auth}
            if auth in ("CODECONNECTIONS", "SECRETS_MANAGER"):
                mine[server]["resource"] = body["token"]  # an ARN, not a secret
        return json_response({"arn": arn})

    def list_source_credentials(self, request: Request) -> Response:
        with self.store.lock:
            infos = [dict(v) for v in self.store.data.get(request.region, {}).values()]
        return json_response({"sourceCredentialsInfos": infos})

    def delete_source_credentials(self, request: Request) -> Response:
        arn = request.json().get("arn", "")
        with self.store.transaction():
            mine = self.store.data.get(request.region, {})
            server = next((k for k, v in mine.items() if v["arn"] == arn), None)
            if server is None:
                raise AwsError("ResourceNotFoundException", f"Source credentials {arn} were "
                                                            "not found")
            del mine[server]
        return json_response({"arn": arn})

    def list_curated_environment_images(self, request: Request) -> Response:
        platforms = [{"platform": platform, "languages": [
            {"language": language, "images": [_image(*image) for image in images]}
            for language, images in languages.items()]}
            for platform, languages in _IMAGES.items()]
        return json_response({"platforms": platforms})


def _image(name: str, description: str, versions: list[str]) -> dict[str, Any]:
    return {"name": name, "description": description,
            "versions": [f"{name.rsplit(':', 1)[0]}:{v}" for v in versions]}


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
