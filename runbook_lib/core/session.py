"""The only place that creates boto3 clients.

Target ``local`` talks to the embedded local AWS with that server's own key pair (read from its
state folder; the standard chain only when the folder is not readable, as for a remote server);
target ``aws`` uses the standard credential chain and refuses loopback endpoints.
Both honour ``AWS_ENDPOINT_URL``, ``AWS_PROFILE`` and ``AWS_REGION`` as boto3 and the AWS CLI do.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from runbook_lib.core import local_credentials
from runbook_lib.core.errors import CredentialsError, LocalAwsError
from runbook_lib.core.local_endpoint import running_endpoint
from runbook_lib.core.operations import is_read_operation
from runbook_lib.core.params import LOCAL_ACCOUNT_ID, Params

# Ten attempts: AWS control planes (CodePipeline, CodeBuild, IAM) throttle at low rates, and a
# setup makes ~150 calls; at a 30 % throttle rate five attempts lose a call now and then
# (0.3**5 per call), ten practically never (tests/local_aws/test_setup_faults.py).
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=10,
                      read_timeout=60)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")


def is_loopback(url: str | None) -> bool:
    """True for an endpoint on this machine."""
    if not url:
        return False
    host = urlparse(url).hostname or ""
    return host in LOCAL_HOSTS or host.startswith("127.")


@dataclass
class CallRecorder:
    """Counts API calls per (service, operation), split into reads and mutations.

    Attached through botocore's ``before-call`` event, so it sees exactly what goes on the wire
    (retries excluded), which is what "a converged re-run makes no mutating call" is about.
    """

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._on_call)

    def _on_call(self, model: Any, **_kwargs: Any) -> None:
        service = model.service_model.service_name
        with self._lock:
            self.calls[(service, model.name)] += 1

    @property
    def mutating(self) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self.calls.items() if not is_read_operation(k[1])}

    @property
    def reads(self) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self.calls.items() if is_read_operation(k[1])}

    @property
    def mutating_count(self) -> int:
        return sum(self.mutating.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def summary(self) -> str:
        """One line: how many reads and mutations, and which mutations."""
        muts = ", ".join(f"{s}:{op}×{n}" for (s, op), n in sorted(self.mutating.items()))
        return (f"{sum(self.reads.values())} read calls, {self.mutating_count} mutating calls"
                + (f" ({muts})" if muts else ""))


# Called with every client an AwsSession creates (tests register a request checker here).
CLIENT_HOOKS: list[Callable[[Any], None]] = []


class AwsSession:
    """Clients for one target and region, cached per service, all sharing one recorder."""

    def __init__(
        self,
        target: str = "local",
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        recorder: CallRecorder | None = None,
    ) -> None:
        self.target = target
        self.recorder = recorder or CallRecorder()
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()
        profile = profile if profile is not None else os.environ.get("AWS_PROFILE") or None
        env_endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
        if target == "local":
            self.endpoint_url = endpoint_url or env_endpoint or running_endpoint()
            if not self.endpoint_url:
                raise LocalAwsError(
                    "no local AWS endpoint: start one with `runbook local start` (or run through "
                    "`runbook run`, which starts one), or set AWS_ENDPOINT_URL."
                )
            self._boto = _local_boto_session(self.endpoint_url, profile, region)
        elif target == "aws":
            endpoint_url = endpoint_url or env_endpoint
            # Inside a build of the local AWS, "AWS" is the local AWS: the build's standard
            # environment (AWS_ENDPOINT_URL, the build role's credentials) says so.
            if is_loopback(endpoint_url) and not os.environ.get("CODEBUILD_BUILD_ID"):
                raise CredentialsError(
                    f"target 'aws' never talks to a local endpoint, but AWS_ENDPOINT_URL="
                    f"{endpoint_url} points at this machine. Fix: unset AWS_ENDPOINT_URL, or use "
                    "--target local."
                )
            self.endpoint_url = endpoint_url
            self._boto = boto3.Session(profile_name=profile, region_name=region,
                                       botocore_session=botocore_session())
            if self._boto.get_credentials() is None:
                raise CredentialsError(
                    "target 'aws' needs AWS credentials and none were found. Fix: run "
                    "`aws configure` or `aws sso login --profile NAME` and set AWS_PROFILE, or "
                    "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
                )
        else:
            raise ValueError(f"unknown target {target!r}; use 'local' or 'aws'")
        self.region = region or self._boto.region_name or "us-east-1"

    @classmethod
    def from_params(cls, params: Params, **kwargs: Any) -> AwsSession:
        """Session for the target and region the parameters name."""
        return cls(target=params.target, region=params.region, **kwargs)

    def client(self, service: str) -> Any:
        """A cached, recorded client for ``service`` with the suite's retry config.

        Typed ``Any``: boto3 builds its clients at run time from the service models.
        """
        with self._lock:
            if service not in self._clients:
                kwargs: dict[str, Any] = {"region_name": self.region, "config": RETRY_CONFIG}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self._boto.client(service, **kwargs)
                self.recorder.attach(client)
                for hook in CLIENT_HOOKS:
                    hook(client)
                self._clients[service] = client
            return self._clients[service]

    def account_id(self) -> str:
        """The caller's account (the local AWS answers 123456789012)."""
        return str(self.client("sts").get_caller_identity()["Account"])

    def caller_arn(self) -> str:
        return str(self.client("sts").get_caller_identity()["Arn"])

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def local_endpoint_url(self) -> str:
        """The local AWS's endpoint, for its control API (repositories, state folder).

        Set whenever the target is ``local`` (the constructor refuses a local session without
        one); typed ``str``, where ``endpoint_url`` is also None for AWS's own endpoints.
        """
        if not self.is_local or not self.endpoint_url:
            raise LocalAwsError("the local AWS's control API needs target 'local'; this session "
                                f"talks to target {self.target!r}")
        return self.endpoint_url


def _local_boto_session(endpoint_url: str, profile: str | None,
                        region: str | None) -> boto3.Session:
    """A boto3 session for the local AWS at ``endpoint_url``, signing with its key pair.

    The server's own pair wins over the standard chain, so real AWS credentials in the
    environment are never sent to the local AWS (which would refuse them anyway)."""
    local = local_credentials.credentials_for_endpoint(endpoint_url)
    if local is not None:
        return boto3.Session(aws_access_key_id=local.access_key_id,
                             aws_secret_access_key=local.secret_access_key,
                             region_name=region, botocore_session=botocore_session())
    core = botocore_session(profile)
    try:
        creds = core.get_credentials()
    except Exception:  # a broken profile must not stop a local run
        creds = None
    if creds is None:
        raise LocalAwsError(
            f"no credentials for the local AWS at {endpoint_url}: its state folder is not "
            "readable from here. Fix: export the lines `runbook local start` (or `runbook local "
            "status`) prints, which set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        )
    return boto3.Session(botocore_session=core, region_name=region)


class _SearchPaths(list[str]):
    """The shared loader's search paths: boto3 appends its own data folder for every new
    session, which would grow the list (and each lookup) by one per session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def shared_model_loader() -> botocore.loaders.Loader:
    """One botocore data loader for every session of this process. The service models are
    read-only data; a loader of their own made each new session read and parse them again
    (endpoint rules, service model, paginators): about a sixth of a local-AWS test's CPU, as
    tests, kernels and commands make sessions often. Honours AWS_DATA_PATH like botocore."""
    extra = os.environ.get("AWS_DATA_PATH", "")
    paths = _SearchPaths(os.path.expanduser(p) for p in extra.split(os.pathsep) if p)
    return botocore.loaders.Loader(extra_search_paths=paths)


def botocore_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session reading its models through the process's shared loader."""
    core = botocore.session.Session(profile=profile) if profile else botocore.session.Session()
    core.register_component("data_loader", shared_model_loader())
    return core


def local_account_id() -> str:
    return LOCAL_ACCOUNT_ID
