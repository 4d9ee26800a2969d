"""What the event archive is made of: names, the rule's pattern, the stream, the table, the
workgroup and the two roles, as the documents AWS takes. Pure: no AWS call here.

The archive follows the practice AWS describes for delivery metrics across an account: every
CodePipeline and CodeBuild state change goes through an EventBridge rule to an Amazon Data
Firehose stream, which writes gzipped JSON lines under ``events/year=/month=/day=/`` in the
artifact bucket; a Glue table with partition projection (no crawler) lets Athena query them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.setup.policies import RoleSpec, trust_policy

PIPELINE_EVENTS = ("CodePipeline Pipeline Execution State Change",
                   "CodePipeline Stage Execution State Change",
                   "CodePipeline Action Execution State Change")
BUILD_EVENTS = ("CodeBuild Build State Change",)
EVENTS_PREFIX = "events/"
RESULTS_PREFIX = "athena-results/"
TARGET_ID = "event-archive"
TABLE = "pipeline_events"
BYTES_SCANNED_CUTOFF = 10 * 1024**3  # 10 GiB a query: a runaway scan costs at most ~$0.05
BUFFER_SECONDS = 300
BUFFER_MB = 64
FIRST_YEAR = 2020  # partition projection's range starts here


@dataclass(frozen=True)
class ArchiveNames:
    """Names and ARNs of the archive's resources for one app."""

    rule: str
    stream: str
    events_role: str
    firehose_role: str
    database: str
    table: str
    workgroup: str
    bucket: str

    @classmethod
    def derive(cls, names: ResourceNames, params: Params) -> ArchiveNames:
        app = params.app_name
        return cls(rule=f"{app}-event-archive", stream=f"{app}-event-archive",
                   events_role=f"{app}-events-archive", firehose_role=f"{app}-firehose-archive",
                   database=app.replace("-", "_") + "_events", table=TABLE,
                   workgroup=f"{app}-fleet", bucket=names.artifact_bucket)

    def stream_arn(self, names: ResourceNames) -> str:
        return names.arn("firehose", f"deliverystream/{self.stream}")

    def rule_arn(self, names: ResourceNames) -> str:
        return names.arn("events", f"rule/{self.rule}")

    @property
    def events_location(self) -> str:
        return f"s3://{self.bucket}/{EVENTS_PREFIX}"

    @property
    def results_location(self) -> str:
        return f"s3://{self.bucket}/{RESULTS_PREFIX}"


def archive_pattern() -> dict[str, Any]:
    """Every pipeline, stage and action state change and every build state change of the
    account: the fleet report needs all pipelines, not only this app's."""
    return {"source": ["aws.codepipeline", "aws.codebuild"],
            "detail-type": [*PIPELINE_EVENTS, *BUILD_EVENTS]}


def rule_definition() -> dict[str, Any]:
    return {"EventPattern": archive_pattern(), "State": "ENABLED",
            "Description": "CodePipeline and CodeBuild state changes, to the event archive"}


def archive_target(names: ResourceNames, archive: ArchiveNames) -> dict[str, Any]:
    """The whole event goes to Firehose, which appends the newline (see the stream)."""
    return {"Id": TARGET_ID, "Arn": archive.stream_arn(names),
            "RoleArn": names.role_arn(archive.events_role)}


def stream_destination(names: ResourceNames, archive: ArchiveNames) -> dict[str, Any]:
    """Gzipped objects under ``events/year=/month=/day=/``, one JSON event a line.

    ``AppendDelimiterToRecord`` puts the newline after each record: Firehose concatenates
    records as they come, and Athena's JSON SerDe reads one object a line.
    """
    return {
        "RoleARN": names.role_arn(archive.firehose_role),
        "BucketARN": names.bucket_arn(archive.bucket),
        "Prefix": (EVENTS_PREFIX + "year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
                   "day=!{timestamp:dd}/"),
        "ErrorOutputPrefix": "events-errors/!{firehose:error-output-type}/"
                             "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
        "BufferingHints": {"SizeInMBs": BUFFER_MB, "IntervalInSeconds": BUFFER_SECONDS},
        "CompressionFormat": "GZIP",
        "ProcessingConfiguration": {"Enabled": True,
                                    "Processors": [{"Type": "AppendDelimiterToRecord"}]},
    }


def table_input(archive: ArchiveNames) -> dict[str, Any]:
    """The raw events, one row an event; ``detail`` stays JSON text (the OpenX SerDe gives a
    nested object as its JSON), flattened by the query's ``pipeline_events`` relation."""
    columns = [("version", "string"), ("id", "string"), ("detail_type", "string"),
               ("source", "string"), ("account", "string"), ("time", "string"),
               ("region", "string"), ("resources", "array<string>"), ("detail", "string")]
    location = archive.events_location
    return {
        "Name": archive.table,
        "Description": "CodePipeline and CodeBuild state-change events (pipeline runbooks)",
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": p, "Type": "string"} for p in ("year", "month", "day")],
        "Parameters": {
            "classification": "json", "compressionType": "gzip",
            "projection.enabled": "true",
            "projection.year.type": "integer", "projection.year.range": f"{FIRST_YEAR},2100",
            "projection.month.type": "integer", "projection.month.range": "1,12",
            "projection.month.digits": "2",
            "projection.day.type": "integer", "projection.day.range": "1,31",
            "projection.day.digits": "2",
            "storage.location.template": location + "year=${year}/month=${month}/day=${day}/",
        },
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": location,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                          "Parameters": {"mapping.detail_type": "detail-type",
                                         "ignore.malformed.json": "true"}},
        },
    }


def workgroup_configuration(archive: ArchiveNames) -> dict[str, Any]:
    """Results in the artifact bucket, a cap on bytes scanned, settings enforced on queries."""
    return {"ResultConfiguration": {"OutputLocation": archive.results_location},
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True,
            "BytesScannedCutoffPerQuery": BYTES_SCANNED_CUTOFF}


def role_specs(names: ResourceNames, archive: ArchiveNames) -> list[RoleSpec]:
    """Two roles, each allowed one thing: the rule may put records on the stream; the stream
    may write objects under ``events/`` (and its error prefix) of the bucket."""
    bucket = names.bucket_arn(archive.bucket)
    firehose = {"Version": "2012-10-17", "Statement": [
        {"Sid": "WriteArchiveObjects", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": [f"{bucket}/events/*", f"{bucket}/events-errors/*"]},
        {"Sid": "ReadBucketForDelivery", "Effect": "Allow",
         "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
         "Resource": [bucket]}]}
    events = {"Version": "2012-10-17", "Statement": [
        {"Sid": "PutToArchiveStream", "Effect": "Allow",
         "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
         "Resource": [archive.stream_arn(names)]}]}
    return [
        RoleSpec(archive.firehose_role, "firehose.amazonaws.com",
                 f"Lets {archive.stream} write the event archive (pipeline runbooks)",
                 trust_policy("firehose.amazonaws.com", names, archive.stream_arn(names)),
                 firehose),
        RoleSpec(archive.events_role, "events.amazonaws.com",
                 f"Lets {archive.rule} put events on {archive.stream} (pipeline runbooks)",
                 trust_policy("events.amazonaws.com", names, archive.rule_arn(names)), events),
    ]


SUMMARY_HEADERS = ("what", "where")


def summary_rows(names: ResourceNames, archive: ArchiveNames) -> list[tuple[str, str]]:
    """Where each part of the archive is, for the notebook and the docs."""
    return [
        ("EventBridge rule", f"{archive.rule} (default bus): {', '.join(PIPELINE_EVENTS)}, "
                             f"{', '.join(BUILD_EVENTS)}"),
        ("Firehose stream", f"{archive.stream}: gzip, one event a line, buffered "
                            f"{BUFFER_SECONDS} s or {BUFFER_MB} MB"),
        ("objects", f"{archive.events_location}year=YYYY/month=MM/day=DD/"),
        ("Glue table", f"{archive.database}.{archive.table} (partition projection)"),
        ("Athena workgroup", f"{archive.workgroup}: results in {archive.results_location}, "
                             f"at most {BYTES_SCANNED_CUTOFF // 1024**3} GiB a query"),
        ("roles", f"{archive.events_role} (rule to stream), {archive.firehose_role} "
                  "(stream to bucket)"),
    ]
