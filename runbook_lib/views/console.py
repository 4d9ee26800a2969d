"""Links from the suite's resource names to the AWS console, for HTML views on ``target=aws``.

On the local AWS there is no console, so no links are made. Names come from
:class:`~runbook_lib.core.params.ResourceNames` only, so a link always points at what the suite
manages.
"""

from __future__ import annotations

from urllib.parse import quote

from runbook_lib.core.params import ResourceNames


def _regional(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com"


def _log_group_fragment(group: str) -> str:
    # The CloudWatch console escapes its fragment twice, writing % as $25.
    return quote(quote(group, safe=""), safe="").replace("%", "$")


def console_links(names: ResourceNames, target: str) -> dict[str, str]:
    """Resource name to console URL for everything the suite creates; empty off ``aws``."""
    if target != "aws":
        return {}
    region, base = names.region, _regional(names.region)
    links = {names.artifact_bucket: f"https://s3.console.aws.amazon.com/s3/buckets/"
                                    f"{names.artifact_bucket}?region={region}"}
    for bucket in names.deploy_buckets:
        links[bucket] = f"https://s3.console.aws.amazon.com/s3/buckets/{bucket}?region={region}"
    for role in (names.codebuild_role, names.codepipeline_role, names.events_role):
        links[role] = f"https://console.aws.amazon.com/iam/home#/roles/details/{role}"
    links[names.pipeline] = (f"{base}/codesuite/codepipeline/pipelines/{names.pipeline}/view"
                             f"?region={region}")
    links[names.build_project] = (f"{base}/codesuite/codebuild/projects/{names.build_project}"
                                  f"?region={region}")
    links[names.log_group] = (f"{base}/cloudwatch/home?region={region}#logsV2:log-groups/"
                              f"log-group/{_log_group_fragment(names.log_group)}")
    for topic in (names.approval_topic, names.failure_topic):
        arn = f"arn:{names.partition}:sns:{region}:{names.account_id}:{topic}"
        links[topic] = f"{base}/sns/v3/home?region={region}#/topic/{arn}"
    links[names.failure_rule] = (f"{base}/events/home?region={region}#/eventbus/default/rules/"
                                 f"{names.failure_rule}")
    return links
