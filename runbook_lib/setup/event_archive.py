"""The event archive step: plan and apply the rule, stream, roles, Glue table and workgroup.

Each resource is read first (read calls only), then created, updated or left as it is; one
found under the archive's name without this app's ownership tags stops the plan
(``NotOwnedError``) before anything changes. The documents themselves live in
:mod:`.event_archive_spec`. :func:`teardown_targets` gives teardown what to delete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import tags
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, converge
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import event_archive_spec as spec
from runbook_lib.setup.iam import _plan_role
from runbook_lib.setup.monitoring import event_rule_change

_MISSING = ("ResourceNotFoundException", "EntityNotFoundException", "InvalidRequestException")


def plan_event_archive(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Roles, stream, rule and target, Glue database and table, Athena workgroup."""
    archive = spec.ArchiveNames.derive(names, params)
    plan = Plan("event archive")
    iam = session.client("iam")
    for role in spec.role_specs(names, archive):
        plan.changes.extend(_plan_role(iam, role, params.app_name))
    plan.add(_stream_change(session, params, names, archive))
    rule = _read(lambda: session.client("events").describe_rule(
        Name=archive.rule, EventBusName="default"), f"describe rule {archive.rule}")
    plan.add(_rule_change(session, params, archive, rule))
    plan.add(_target_change(session, names, archive, rule is not None))
    plan.add(_database_change(session, params, names, archive))
    plan.add(_table_change(session, archive))
    plan.add(_workgroup_change(session, params, names, archive))
    return plan


def _read(call: Callable[[], Any], what: str) -> Any:
    """The answer of a describe call, or None when the resource does not exist."""
    try:
        return call()
    except ClientError as err:
        if err.response["Error"]["Code"] in _MISSING:
            return None
        raise StepError(f"{what}: {err}") from err


def _get_work_group(athena, name: str) -> dict[str, Any] | None:
    """The workgroup, or None. Athena answers InvalidRequestException for a missing one;
    moto answers ``{"WorkGroup": null}``: both mean absent."""
    found = _read(lambda: athena.get_work_group(WorkGroup=name), f"get workgroup {name}")
    return (found or {}).get("WorkGroup") or None


def _guard(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as err:
        raise StepError(f"{what}: {err}") from err


def _tag_map(params: Params) -> dict[str, str]:
    return tags.ownership_tags(params.app_name)


# -- Firehose -------------------------------------------------------------------------------------


def _stream_change(session: AwsSession, params: Params, names: ResourceNames,
                   archive: spec.ArchiveNames) -> Change:
    firehose = session.client("firehose")
    resource = f"Firehose stream {archive.stream}"
    desired = spec.stream_destination(names, archive)
    found = _read(lambda: firehose.describe_delivery_stream(DeliveryStreamName=archive.stream),
                  f"describe delivery stream {archive.stream}")
    current = None
    if found is not None:
        owned = _guard(f"list tags of {archive.stream}", firehose.list_tags_for_delivery_stream,
                       DeliveryStreamName=archive.stream)
        tags.require_owned(resource, tags.from_tag_list(owned["Tags"]), params.app_name)
        description = found["DeliveryStreamDescription"]
        destination = description["Destinations"][0]
        current = destination.get("ExtendedS3DestinationDescription", {})

    def create() -> None:
        _guard(f"create delivery stream {archive.stream}", firehose.create_delivery_stream,
               DeliveryStreamName=archive.stream, DeliveryStreamType="DirectPut",
               ExtendedS3DestinationConfiguration=desired,
               Tags=tags.as_tag_list(_tag_map(params)))

    def update() -> None:
        description = firehose.describe_delivery_stream(
            DeliveryStreamName=archive.stream)["DeliveryStreamDescription"]
        _guard(f"update delivery stream {archive.stream}", firehose.update_destination,
               DeliveryStreamName=archive.stream,
               CurrentDeliveryStreamVersionId=description["VersionId"],
               DestinationId=description["Destinations"][0]["DestinationId"],
               ExtendedS3DestinationUpdate=desired)

    return converge(resource, current, desired, create, update,
                    [f"gzip JSON lines to {archive.events_location}year=/month=/day=/"])


# -- EventBridge ----------------------------------------------------------------------------------


def _rule_change(session: AwsSession, params: Params, archive: spec.ArchiveNames,
                 rule: dict[str, Any] | None) -> Change:
    return event_rule_change(session, params.app_name, archive.rule, spec.rule_definition(),
                             rule)


def _target_change(session: AwsSession, names: ResourceNames, archive: spec.ArchiveNames,
                   rule_exists: bool) -> Change:
    events = session.client("events")
    desired = spec.archive_target(names, archive)
    current = None
    if rule_exists:
        pages = events.get_paginator("list_targets_by_rule").paginate(
            Rule=archive.rule, EventBusName="default")
        current = next((t for page in pages for t in page["Targets"]
                        if t["Id"] == spec.TARGET_ID), None)

    def put() -> None:
        result = _guard(f"put target of {archive.rule}", events.put_targets, Rule=archive.rule,
                        EventBusName="default", Targets=[desired])
        if result.get("FailedEntryCount"):
            raise StepError(f"put target of {archive.rule}: {result['FailedEntries']}")

    return converge(f"target {spec.TARGET_ID} of rule {archive.rule}", current, desired, put,
                    put, [f"Firehose stream {archive.stream}, role {archive.events_role}"])


# -- Glue and Athena ------------------------------------------------------------------------------


def _database_change(session: AwsSession, params: Params, names: ResourceNames,
                     archive: spec.ArchiveNames) -> Change:
    glue = session.client("glue")
    resource = f"Glue database {archive.database}"
    found = _read(lambda: glue.get_database(Name=archive.database),
                  f"get database {archive.database}")
    if found is not None:
        arn = names.arn("glue", f"database/{archive.database}")
        owned = _guard(f"get tags of {arn}", glue.get_tags, ResourceArn=arn)
        tags.require_owned(resource, owned.get("Tags", {}), params.app_name)
    desired = {"Name": archive.database,
               "Description": "The pipeline event archive (pipeline runbooks)"}
    return converge(resource, None if found is None else found["Database"], desired,
                    lambda: _guard(f"create database {archive.database}", glue.create_database,
                                   DatabaseInput=desired, Tags=_tag_map(params)),
                    lambda: _guard(f"update database {archive.database}", glue.update_database,
                                   Name=archive.database, DatabaseInput=desired))


def _table_change(session: AwsSession, archive: spec.ArchiveNames) -> Change:
    """The table lives in the database the suite owns, so the database's tags cover it."""
    glue = session.client("glue")
    desired = spec.table_input(archive)
    found = _read(lambda: glue.get_table(DatabaseName=archive.database, Name=archive.table),
                  f"get table {archive.table}")
    current = None if found is None else found["Table"]
    return converge(
        f"Glue table {archive.database}.{archive.table}", current, desired,
        lambda: _guard(f"create table {archive.table}", glue.create_table,
                       DatabaseName=archive.database, TableInput=desired),
        lambda: _guard(f"update table {archive.table}", glue.update_table,
                       DatabaseName=archive.database, TableInput=desired),
        ["partition projection on year/month/day: no crawler, no partitions to add"])


def _workgroup_change(session: AwsSession, params: Params, names: ResourceNames,
                      archive: spec.ArchiveNames) -> Change:
    athena = session.client("athena")
    resource = f"Athena workgroup {archive.workgroup}"
    desired = spec.workgroup_configuration(archive)
    found = _get_work_group(athena, archive.workgroup)
    current = None
    if found is not None:
        arn = names.arn("athena", f"workgroup/{archive.workgroup}")
        owned = _guard(f"list tags of {arn}", athena.list_tags_for_resource, ResourceARN=arn)
        tags.require_owned(resource, tags.from_tag_list(owned.get("Tags")), params.app_name)
        current = found.get("Configuration", {})

    def update() -> None:
        updates = {**{k: v for k, v in desired.items() if k != "ResultConfiguration"},
                   "ResultConfigurationUpdates": desired["ResultConfiguration"]}
        _guard(f"update workgroup {archive.workgroup}", athena.update_work_group,
               WorkGroup=archive.workgroup, ConfigurationUpdates=updates)

    return converge(resource, current, desired,
                    lambda: _guard(f"create workgroup {archive.workgroup}",
                                   athena.create_work_group, Name=archive.workgroup,
                                   Configuration=desired,
                                   Description="Fleet health queries (pipeline runbooks)",
                                   Tags=tags.as_tag_list(_tag_map(params))),
                    update, [f"results in {archive.results_location}, at most "
                             f"{spec.BYTES_SCANNED_CUTOFF // 1024**3} GiB scanned a query"])


# -- teardown -------------------------------------------------------------------------------------


def teardown_targets(session: AwsSession, params: Params, names: ResourceNames
                     ) -> list[tuple[str, dict[str, str] | None, Callable[[], Any]]]:
    """For the teardown: each stream, database and workgroup as (label, tags or None when
    absent, delete). The rule and the roles go through teardown's own rule and role deletes;
    the archived objects go with the bucket."""
    archive = spec.ArchiveNames.derive(names, params)
    firehose, glue, athena = (session.client(s) for s in ("firehose", "glue", "athena"))
    stream = None
    if _read(lambda: firehose.describe_delivery_stream(DeliveryStreamName=archive.stream),
             f"describe delivery stream {archive.stream}") is not None:
        stream = tags.from_tag_list(firehose.list_tags_for_delivery_stream(
            DeliveryStreamName=archive.stream)["Tags"])
    database = None
    if _read(lambda: glue.get_database(Name=archive.database),
             f"get database {archive.database}") is not None:
        database = glue.get_tags(
            ResourceArn=names.arn("glue", f"database/{archive.database}")).get("Tags", {})
    workgroup = None
    if _get_work_group(athena, archive.workgroup) is not None:
        workgroup = tags.from_tag_list(athena.list_tags_for_resource(
            ResourceARN=names.arn("athena", f"workgroup/{archive.workgroup}")).get("Tags"))
    return [
        (f"Firehose stream {archive.stream}", stream,
         lambda: firehose.delete_delivery_stream(DeliveryStreamName=archive.stream)),
        (f"Glue database {archive.database} (and its table)", database,
         lambda: glue.delete_database(Name=archive.database)),
        (f"Athena workgroup {archive.workgroup}", workgroup,
         lambda: athena.delete_work_group(WorkGroup=archive.workgroup,
                                          RecursiveDeleteOption=True)),
    ]
