"""Census of the local AWS: call every operation of the suite's 13 services, say who answers.

    python tools/census.py                   every operation of the 13 services, a table
    python tools/census.py --service s3      one service (repeatable)
    python tools/census.py --details         also one line per operation
    python tools/census.py --json            every outcome as JSON (the test reads this)

A fresh local AWS is started on a temporary state folder (loopback, a free port) and stopped
at the end. Each operation is called once with minimal input generated from botocore's model
(required members only, each at its minimum) through boto3 with retries off, and sorted into:

- **project**: the project's own extension served it (an answer or an AWS error);
- **moto**: moto served it (an answer or an AWS error: a ``NoSuchBucket`` for a made-up name
  is an answer);
- **not emulated**: refused with ``NotImplemented`` (neither serves it);
- **crashed**: ``InternalFailure`` (moto or an extension failed; traceback in the log);
- **html**: a page botocore cannot parse as an AWS error (must stay 0).

Every successful answer is checked against the operation's output shape (required members
present, each value of its shape's type); mismatches are listed. Refusals are timed: each
must come back in under a second, in one attempt.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from botocore.parsers import ResponseParserError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The services the suite's library and notebooks call (runbook_lib's clients).
SERVICES = ("codepipeline", "codebuild", "s3", "iam", "sts", "logs", "events", "sns", "sqs",
            "ssm", "secretsmanager", "cloudwatch", "ecs")
KINDS = ("project", "moto", "not emulated", "crashed", "html")
# moto crashes the census still finds with its minimal input (answered InternalFailure, never a
# page). None is left: runbook_lib/local/server/moto_inputs.py answers each input moto crashed
# on as AWS does; tests/local_aws/test_census.py holds the census to zero.
KNOWN_CRASHES: frozenset[str] = frozenset()
ACCOUNT = "123456789012"


@dataclass
class Outcome:
    """One operation's answer: who answered, how, how fast, and any output-shape mismatch."""

    service: str
    operation: str
    kind: str
    code: str = ""
    seconds: float = 0.0
    shape_errors: list[str] = field(default_factory=list)
    status: int = 200
    message: str = ""


def minimal_value(shape, name: str, service: str, depth: int = 0):
    """The smallest value of ``shape`` botocore accepts, recognisable in logs as the census's."""
    kind = shape.type_name
    if kind == "structure":
        names = list(shape.required_members)
        if shape.is_tagged_union and not names:  # exactly one member must be set
            names = list(shape.members)[:1]
        return {m: minimal_value(shape.members[m], m, service, depth + 1)
                for m in names if depth < 8}
    if kind == "list":
        count = int(shape.metadata.get("min", 0) or 0)
        return [minimal_value(shape.member, name, service, depth + 1) for _ in range(count)]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1) or 0), 1)
    if kind in ("double", "float"):
        return float(shape.metadata.get("min", 1) or 1)
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return dt.datetime.now(dt.UTC)
    if kind == "blob":
        return b"census"
    return _minimal_string(shape, name, service)


def _minimal_string(shape, name: str, service: str) -> str:
    if shape.enum:
        return shape.enum[0]
    low = int(shape.metadata.get("min", 0) or 0)
    high = int(shape.metadata.get("max", 0) or 0) or 256
    if name.lower().endswith("arn") and high >= 40:
        value = f"arn:aws:{service}:us-east-1:{ACCOUNT}:census"
    elif "bucket" in name.lower():
        value = "census-bucket"
    else:
        value = "census"
    value = value + "x" * max(0, low - len(value))
    return value[:high]


def call(client, service: str, operation: str, project_routes: set) -> Outcome:
    """Call one operation with minimal input and sort its answer."""
    model = client.meta.service_model.operation_model(operation)
    params = minimal_value(model.input_shape, "", service) if model.input_shape else {}
    method = next(m for m, op in client.meta.method_to_api_mapping.items() if op == operation)
    signing = client.meta.service_model.signing_name
    owner = "project" if (signing, operation) in project_routes else "moto"
    started = time.monotonic()
    try:
        result = getattr(client, method)(**params)
    except ClientError as err:
        code = err.response["Error"].get("Code", "")
        kind = {"NotImplemented": "not emulated", "InternalFailure": "crashed"}.get(code, owner)
        status = err.response["ResponseMetadata"].get("HTTPStatusCode", 0)
        if status in (500, 502, 503, 504):
            kind = "crashed"
        return Outcome(service, operation, kind, code, time.monotonic() - started,
                       status=status, message=err.response["Error"].get("Message", ""))
    except ResponseParserError:
        return Outcome(service, operation, "html", "unparseable", time.monotonic() - started)
    except (ParamValidationError, BotoCoreError) as err:  # the census's input or connection
        return Outcome(service, operation, "crashed", f"{type(err).__name__}: {err}"[:160])
    seconds = time.monotonic() - started
    errors = check_shape(model.output_shape, result, operation) if model.output_shape else []
    return Outcome(service, operation, owner, "", seconds, errors)


def check_shape(shape, value, path: str) -> list[str]:
    """Where ``value`` departs from ``shape``: a missing required member or a wrong type."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not a structure"]
        if shape.metadata.get("eventstream") or shape.serialization.get("payload"):
            return []
        found = [f"{path}.{m}: required, missing" for m in shape.required_members
                 if m not in value and shape.members[m].serialization.get("location") is None]
        for name, item in value.items():
            if name in shape.members:
                found += check_shape(shape.members[name], item, f"{path}.{name}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [e for i, item in enumerate(value)
                for e in check_shape(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        return [e for k, item in value.items() for e in check_shape(shape.value, item,
                                                                     f"{path}[{k}]")]
    expected = {"string": str, "integer": int, "long": int, "boolean": bool,
                "timestamp": dt.datetime, "double": (int, float), "float": (int, float)}
    wanted = expected.get(kind)
    if wanted and not isinstance(value, wanted):
        return [f"{path}: {type(value).__name__}, not {kind}"]
    return []


def run_census(endpoint_url: str, access_key: str, secret_key: str, project_routes: set,
               services=SERVICES) -> list[Outcome]:
    """Every operation of ``services`` against the local AWS at ``endpoint_url``."""
    outcomes = []
    config = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5,
                    read_timeout=30, inject_host_prefix=False)
    for service in services:
        client = boto3.client(service, region_name="us-east-1", endpoint_url=endpoint_url,
                              aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                              config=config)
        for operation in client.meta.service_model.operation_names:
            outcomes.append(call(client, service, operation, project_routes))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """The per-service table (markdown), as the README shows it."""
    lines = ["| service | operations | project | moto | not emulated | crashed | html |"
             " shape mismatches | slowest refusal (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for service in dict.fromkeys(o.service for o in outcomes):
        mine = [o for o in outcomes if o.service == service]
        counts = Counter(o.kind for o in mine)
        refusals = [o.seconds for o in mine if o.kind == "not emulated"]
        mismatched = sum(1 for o in mine if o.shape_errors)
        lines.append(f"| {service} | {len(mine)} | "
                     + " | ".join(str(counts.get(k, 0)) for k in KINDS)
                     + f" | {mismatched} | {max(refusals, default=0):.2f} |")
    return "\n".join(lines)


def details(outcomes: list[Outcome]) -> str:
    return "\n".join(f"{o.service}.{o.operation}: {o.kind} {o.code} {o.seconds:.2f}s"
                     + (f" shape: {'; '.join(o.shape_errors[:3])}" if o.shape_errors else "")
                     for o in outcomes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", action="append", choices=SERVICES)
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--json", action="store_true",
                        help="print every outcome as JSON instead of the table")
    args = parser.parse_args(argv)
    from runbook_lib.local.server.server import LocalAwsServer

    logging.getLogger("runbook.local").setLevel(logging.CRITICAL)  # crashes are counted here
    with tempfile.TemporaryDirectory(prefix="census-") as state:
        server = LocalAwsServer(Path(state), port=0).start_thread()
        try:
            creds = server.credentials
            outcomes = run_census(server.endpoint_url, creds.access_key_id,
                                  creds.secret_access_key, set(server.app.routes),
                                  tuple(args.service or SERVICES))
        finally:
            server.shutdown()
    if args.json:
        print(json.dumps([dataclasses.asdict(o) for o in outcomes]))
        return 0
    print(table(outcomes))
    if args.details:
        print(details(outcomes))
    bad = [o for o in outcomes if o.kind == "html" or o.shape_errors or (
        o.kind == "crashed" and f"{o.service}.{o.operation}" not in KNOWN_CRASHES)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
