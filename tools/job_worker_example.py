"""A CodePipeline job worker for a custom action: the smallest complete example.

A custom action (``create-custom-action-type``, owner ``Custom``) is not run by CodePipeline:
each time a pipeline reaches it, CodePipeline opens a *job*, and a worker like this one does
the work. The same script works against real AWS and against the local AWS (set
``AWS_ENDPOINT_URL`` as ``runbook local start`` prints). Its loop is AWS's protocol:

1. ``PollForJobs`` for the action type (``--query Name=value`` selects jobs by a queryable
   configuration property);
2. ``AcknowledgeJob`` with the job's nonce (only one worker takes a job);
3. read the input artifact (a zip in S3, with the job's ``artifactCredentials``);
4. ``PutJobSuccessResult`` (output artifact written first, output variables, a summary) or
   ``PutJobFailureResult`` with the reason.

What this worker does: it writes ``checksums.txt`` (SHA-256 of each file of the input
artifact) into the output artifact and exports ``FileCount``. If the action's configuration has
``RequiredFile`` and the input lacks that file, the job fails saying so.

    python tools/job_worker_example.py --category Build --provider Checksums --version 1
    python tools/job_worker_example.py ... --once      # one job, then exit (tests)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import zipfile

import boto3


def poll_once(codepipeline, type_id: dict[str, str], query: dict[str, str]) -> bool:
    """Take one job if there is one and finish it; True when a job was handled."""
    kwargs = {"actionTypeId": type_id, "maxBatchSize": 1}
    if query:
        kwargs["queryParam"] = query
    jobs = codepipeline.poll_for_jobs(**kwargs)["jobs"]
    if not jobs:
        return False
    job = jobs[0]
    codepipeline.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
    try:
        summary, variables = work(job["data"])
    except JobError as err:
        codepipeline.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": str(err)[:5000]})
        return True
    codepipeline.put_job_success_result(
        jobId=job["id"], outputVariables=variables,
        executionDetails={"summary": summary, "externalExecutionId": job["id"],
                          "percentComplete": 100})
    return True


class JobError(Exception):
    """The job cannot succeed; the message is what the pipeline shows."""


def work(data: dict) -> tuple[str, dict[str, str]]:
    """Checksums of the input artifact's files into the output artifact."""
    s3 = _artifact_client(data)
    source = data["inputArtifacts"][0]["location"]["s3Location"]
    body = s3.get_object(Bucket=source["bucketName"], Key=source["objectKey"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        lines = [f"{hashlib.sha256(archive.read(n)).hexdigest()}  {n}" for n in names]
    required = data["actionConfiguration"]["configuration"].get("RequiredFile")
    if required and required not in names:
        raise JobError(f"RequiredFile {required!r} is not in the input artifact "
                       f"({len(names)} files)")
    for output in data.get("outputArtifacts", []):
        target = output["location"]["s3Location"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("checksums.txt", "\n".join(lines) + "\n")
        s3.put_object(Bucket=target["bucketName"], Key=target["objectKey"],
                      Body=buffer.getvalue())
    return f"{len(names)} files checksummed", {"FileCount": str(len(names))}


def _artifact_client(data: dict):
    """S3 with the job's own artifact credentials, as CodePipeline hands them out."""
    creds = data.get("artifactCredentials")
    if not creds:
        return boto3.client("s3")
    return boto3.client("s3", aws_access_key_id=creds["accessKeyId"],
                        aws_secret_access_key=creds["secretAccessKey"],
                        aws_session_token=creds["sessionToken"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A CodePipeline job worker (example)")
    parser.add_argument("--category", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--version", default="1")
    parser.add_argument("--query", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--once", action="store_true", help="handle one job, then exit")
    parser.add_argument("--wait", type=float, default=120.0,
                        help="with --once: how long to wait for a job (seconds)")
    args = parser.parse_args(argv)
    type_id = {"category": args.category, "owner": "Custom", "provider": args.provider,
               "version": args.version}
    query = dict(item.split("=", 1) for item in args.query)
    codepipeline = boto3.client("codepipeline")
    deadline = time.monotonic() + args.wait
    while True:
        handled = poll_once(codepipeline, type_id, query)
        if handled and args.once:
            return 0
        if args.once and time.monotonic() > deadline:
            print("no job came", file=sys.stderr)
            return 1
        if not handled:
            time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
