"""The local Firehose's PutRecord(Batch) to S3: Firehose's object names, its prefix
expressions, gzip and the newline processor, and AWS's error codes."""

from __future__ import annotations

import gzip
import re

import pytest
from botocore.exceptions import ClientError


def _stream(session, app_name, **destination):
    s3 = session.client("s3")
    bucket = f"{app_name}-firehose"
    s3.create_bucket(Bucket=bucket)
    name = f"{app_name}-stream"
    session.client("firehose").create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}", **destination})
    return name, bucket


def _objects(session, bucket):
    s3 = session.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for page in pages for o in page.get("Contents", [])}


def test_a_plain_prefix_gets_firehoses_hour_folders_and_records_are_concatenated(session,
                                                                                app_name):
    name, bucket = _stream(session, app_name, Prefix="raw/")
    session.client("firehose").put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": b'{"a":1}'}, {"Data": b'{"a":2}'}])
    [(key, body)] = _objects(session, bucket).items()
    assert re.fullmatch(rf"raw/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/{name}-\d+-"
                        r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}", key), key
    assert body == b'{"a":1}{"a":2}'  # Firehose adds no delimiter of its own


def test_timestamp_expressions_gzip_and_the_newline_processor(session, app_name):
    name, bucket = _stream(
        session, app_name, Prefix="ev/y=!{timestamp:yyyy}/m=!{timestamp:MM}/",
        CompressionFormat="GZIP",
        ProcessingConfiguration={"Enabled": True,
                                 "Processors": [{"Type": "AppendDelimiterToRecord"}]})
    session.client("firehose").put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    [(key, body)] = _objects(session, bucket).items()
    assert re.match(r"ev/y=\d{4}/m=\d{2}/", key) and key.endswith(".gz"), key
    assert gzip.decompress(body) == b"x\n"


@pytest.mark.parametrize(("prefix", "code"), [
    ("p/!{partitionKeyFromQuery:id}/", "InvalidArgumentException"),
])
def test_an_unsupported_expression_is_refused(session, app_name, prefix, code):
    name, _ = _stream(session, app_name, Prefix=prefix)
    with pytest.raises(ClientError) as err:
        session.client("firehose").put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    assert err.value.response["Error"]["Code"] == code


def test_an_unknown_stream_is_not_found(session):
    with pytest.raises(ClientError) as err:
        session.client("firehose").put_record(DeliveryStreamName="nope", Record={"Data": b"x"})
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
