"""How the scheduled report reaches its readers, and how its build gets the package.

- The report topic (SNS), tagged: each report build publishes a presigned link to it; readers
  subscribe (e-mail, chat, a queue).
- The package as a wheel in the artifact bucket (``runbook-package/``): on the local AWS the
  suite builds one from its working tree, so the report build installs exactly this code with no
  network. The object is put again only when its content changed (its MD5 is the ETag).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from botocore.exceptions import ClientError

from runbook_lib.core import plan as plans
from runbook_lib.core import tags
from runbook_lib.core.errors import StepError, aws_step
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.session import AwsSession


def topic_change(session: AwsSession, params: Params, names: ResourceNames,
                 topic: str) -> plans.Change:
    """The report topic: created with the ownership tags; an untagged look-alike is refused."""
    sns = session.client("sns")
    arn = names.topic_arn(topic)
    resource = f"SNS topic {topic}"
    try:
        sns.get_topic_attributes(TopicArn=arn)
        exists = True
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("NotFound", "NotFoundException"):
            raise StepError(f"get {resource}: {err}") from err
        exists = False
    if exists:
        with aws_step(f"list tags of {resource}"):
            found = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
        tags.require_owned(resource, tags.from_tag_list(found), params.app_name)
        return plans.unchanged(resource)

    def create() -> None:
        with aws_step(f"create {resource}"):
            sns.create_topic(Name=topic, Tags=tags.as_tag_list(tags.ownership_tags(
                params.app_name)))

    return plans.create(resource, create, ["each report build publishes a presigned link here"])


def package_key(prefix: str, wheel: Path) -> str:
    return f"{prefix}{Path(wheel).name}"


def package_change(session: AwsSession, names: ResourceNames, prefix: str,
                   wheel: Path) -> plans.Change:
    """The wheel in the artifact bucket, put when absent or when its content differs."""
    s3 = session.client("s3")
    key = package_key(prefix, wheel)
    resource = f"report package s3://{names.artifact_bucket}/{key}"
    data = Path(wheel).read_bytes()
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    try:
        current = s3.head_object(Bucket=names.artifact_bucket, Key=key)["ETag"].strip('"')
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise StepError(f"head {resource}: {err}") from err
        current = None

    def put() -> None:
        with aws_step(f"put {resource}"):
            s3.put_object(Bucket=names.artifact_bucket, Key=key, Body=data)

    return plans.converge(resource, None if current is None else {"md5": current},
                          {"md5": digest}, put, put, [f"{len(data)} bytes, built from the "
                                                      "working tree"])
