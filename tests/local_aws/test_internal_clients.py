"""In-process clients: every protocol goes through the dispatcher without a socket."""

import json
import time

from runbook_lib.local.server import client


def test_internal_clients_speak_every_protocol(local_aws, session, app_name):
    aws = local_aws.app.context.aws
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=app_name)  # REST-XML, into moto (journalled)
    s3.put_object(Bucket=app_name, Key="a/b.zip", Body=b"PK\x03\x04data")
    assert s3.get_object(Bucket=app_name, Key="a/b.zip")["Body"].read() == b"PK\x03\x04data"
    # ...and an operator's client over HTTP sees the same state
    assert session.client("s3").head_object(Bucket=app_name, Key="a/b.zip")["ContentLength"] == 8

    sns = aws.client("sns")  # query protocol
    topic = sns.create_topic(Name=app_name)["TopicArn"]
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName=app_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="hello")
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert messages[0]["Body"] == "hello"

    logs = aws.client("logs")  # JSON protocol
    logs.create_log_group(logGroupName=f"/x/{app_name}")
    logs.create_log_stream(logGroupName=f"/x/{app_name}", logStreamName="s")
    logs.put_log_events(logGroupName=f"/x/{app_name}", logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "line"}])
    got = session.client("logs").get_log_events(logGroupName=f"/x/{app_name}",
                                                logStreamName="s")["events"]
    assert [e["message"] for e in got] == ["line"]

    # Extensions answer internal calls too.
    cb = aws.client("codebuild")
    assert cb.batch_get_projects(names=[app_name])["projectsNotFound"] == [app_name]
    assert json.loads(json.dumps(cb.list_projects()))  # serialisable answer


def test_internal_calls_are_not_counted_as_operator_calls(local_aws, app_name):
    client.fetch_calls(local_aws.endpoint_url, reset=True)
    local_aws.app.context.aws.client("sqs").create_queue(QueueName=app_name + "-q")
    assert client.fetch_calls(local_aws.endpoint_url) == []


def test_rest_calls_are_counted_by_the_operation_aws_names(local_aws, session, app_name):
    """S3 and the other REST services carry no operation name: the count names it from the
    service model, so a suite's calls read as the API reference (and IAM) name them."""
    bucket = f"{app_name}-counted"
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    client.fetch_calls(local_aws.endpoint_url, reset=True)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.get_bucket_versioning(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)
    session.client("scheduler").list_schedules()
    counted = {(c["service"], c["operation"], c["mutating"])
               for c in client.fetch_calls(local_aws.endpoint_url)}
    assert {("s3", "PutBucketVersioning", True), ("s3", "GetBucketVersioning", False),
            ("s3", "HeadBucket", False), ("scheduler", "ListSchedules", False)} <= counted
