"""Firehose PutRecord and PutRecordBatch, delivered to S3 as Firehose names and packs objects.

moto stores delivery streams and writes records to S3, but it takes the prefix literally (a
``!{timestamp:yyyy}`` expression stays in the key), always adds ``YYYY/MM/DD/HH/``, ignores
``CompressionFormat`` and the ``AppendDelimiterToRecord`` processor. An archive partitioned by
``year=/month=/day=`` then has no partitions. This extension answers the two put operations
itself: it reads the stream's S3 destination from moto (DescribeDeliveryStream), expands the
timestamp namespace of the prefix, appends a newline to each record when the processor asks,
gzips when the stream says ``GZIP``, and writes one object per call with S3 PutObject through
the wire (so the object is journalled like any other).

Emulated, and said so in docs: real Firehose buffers records (by size and by time, 60 s at the
least) and writes one object per buffer; here each call is one object, at once.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

MAX_BATCH = 500
_EXPRESSION = re.compile(r"!\{([a-zA-Z]+):([^}]*)\}")
# Java DateTimeFormatter letters Firehose takes, as strftime directives.
_JAVA_TIME = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
              ("ss", "%S"))


class FirehoseDelivery:
    """The ``firehose`` put operations; everything else about Firehose stays moto's."""

    def __init__(self, context) -> None:
        self.context = context

    def routes(self):
        return {("firehose", "PutRecord"): self.put_record,
                ("firehose", "PutRecordBatch"): self.put_record_batch}

    def put_record(self, request: Request) -> Response:
        body = request.json()
        record = body.get("Record")
        if not isinstance(record, dict):
            raise AwsError("ValidationException", "Record is required.")
        self._deliver(request.region, body.get("DeliveryStreamName"), [record])
        return json_response({"RecordId": _record_id(), "Encrypted": False})

    def put_record_batch(self, request: Request) -> Response:
        body = request.json()
        records = body.get("Records")
        if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH:
            raise AwsError("ValidationException",
                           "1 validation error detected: Value at 'records' failed to satisfy "
                           f"constraint: Member must have length between 1 and {MAX_BATCH}")
        self._deliver(request.region, body.get("DeliveryStreamName"), records)
        return json_response({"FailedPutCount": 0, "Encrypted": False,
                              "RequestResponses": [{"RecordId": _record_id()} for _ in records]})

    def _deliver(self, region: str, stream: Any, records: list[Any]) -> None:
        destination, version = self._destination(region, stream)
        data = [_record_data(r) for r in records]
        if _appends_delimiter(destination):
            data = [d + b"\n" for d in data]
        payload = b"".join(data)
        now = datetime.now(UTC)
        key = object_key(str(stream), version, destination.get("Prefix", ""), now)
        if destination.get("CompressionFormat") == "GZIP":
            payload, key = gzip.compress(payload, mtime=0), key + ".gz"
        bucket = destination["BucketARN"].split(":::", 1)[-1]
        try:
            self.context.aws.client("s3", region).put_object(Bucket=bucket, Key=key,
                                                             Body=payload)
        except ClientError as err:  # as Firehose: the record is not accepted, the caller retries
            raise AwsError("ServiceUnavailableException",
                           f"Delivery to s3://{bucket} failed: "
                           f"{err.response['Error']['Code']}") from err

    def _destination(self, region: str, stream: Any) -> tuple[dict[str, Any], str]:
        if not isinstance(stream, str) or not stream:
            raise AwsError("ValidationException", "DeliveryStreamName is required.")
        firehose = self.context.aws.client("firehose", region)
        try:
            found = firehose.describe_delivery_stream(DeliveryStreamName=stream)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ResourceNotFoundException":
                raise AwsError("ResourceNotFoundException",
                               f"Firehose {stream} under account is not found.") from err
            raise
        description = found["DeliveryStreamDescription"]
        for dest in description.get("Destinations", []):
            s3 = dest.get("ExtendedS3DestinationDescription") or dest.get(
                "S3DestinationDescription")
            if s3:
                return s3, str(description.get("VersionId", "1"))
        raise AwsError("InvalidArgumentException",
                       f"Delivery stream {stream} has no S3 destination; the local AWS "
                       "delivers only to S3.")


def object_key(stream: str, version: str, prefix: str, now: datetime) -> str:
    """Firehose's object name: the expanded prefix (or the default ``YYYY/MM/dd/HH/`` when
    the prefix has no expression), then ``stream-version-YYYY-MM-dd-HH-mm-ss-random``."""
    if _EXPRESSION.search(prefix):
        folder = _EXPRESSION.sub(lambda m: _expand(m, now), prefix)
    else:
        folder = prefix + now.strftime("%Y/%m/%d/%H/")
    return f"{folder}{stream}-{version}-{now.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"


def _expand(match: re.Match[str], now: datetime) -> str:
    namespace, pattern = match.group(1), match.group(2)
    if namespace == "timestamp":
        for java, directive in _JAVA_TIME:
            pattern = pattern.replace(java, directive)
        return now.strftime(pattern)
    if namespace == "firehose" and pattern == "random-string":
        return uuid.uuid4().hex[:11]
    raise AwsError("InvalidArgumentException",
                   f"Prefix expression !{{{namespace}:{match.group(2)}}} is not supported by "
                   "the local AWS (timestamp and firehose:random-string are).")


def _appends_delimiter(destination: dict[str, Any]) -> bool:
    processing = destination.get("ProcessingConfiguration") or {}
    return bool(processing.get("Enabled")) and any(
        p.get("Type") == "AppendDelimiterToRecord" for p in processing.get("Processors", []))


def _record_data(record: Any) -> bytes:
    if not isinstance(record, dict) or not isinstance(record.get("Data"), str):
        raise AwsError("ValidationException", "Each record needs Data (base64).")
    try:
        return base64.b64decode(record["Data"], validate=True)
    except (binascii.Error, ValueError) as err:
        raise AwsError("ValidationException", "Record Data is not valid base64.") from err


def _record_id() -> str:
    return uuid.uuid4().hex * 2
