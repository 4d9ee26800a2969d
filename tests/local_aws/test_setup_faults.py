"""Faults converge: lost responses and throttling during the setup, through a faulty proxy.

For every mutating call the setup makes, the proxy forwards the call (it takes effect) and loses
the answer; botocore retries. The run must then either succeed, or stop with a clear error
after which one re-run converges; the run after that makes no mutating call at all. Under 30 %
throttling, the whole setup completes.
"""

from __future__ import annotations

import pytest
from faults_proxy import FaultPlan, FaultProxy

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import bucket, codebuild, config_store, iam, monitoring, pipeline
from runbook_lib.views.nb import HEADLESS_ENV

STEPS = (bucket.plan_artifact_bucket, bucket.plan_deploy_buckets, iam.plan_roles,
         codebuild.plan_build_project, config_store.plan_config, pipeline.plan_pipeline,
         monitoring.plan_monitoring)


@pytest.fixture(scope="module", autouse=True)
def _headless():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HEADLESS_ENV, "1")  # secrets get local placeholders, no prompt
        yield


@pytest.fixture(scope="module")
def proxy(local_aws):
    with FaultProxy(local_aws.endpoint_url) as running:
        yield running


def run_setup(session: AwsSession, params: Params) -> None:
    """Every setup step, planned and applied, as notebooks 02-08 do with apply=True."""
    names = params.names(session.account_id())
    for step in STEPS:
        step(session, params, names).apply()


def _session(proxy: FaultProxy) -> AwsSession:
    return AwsSession(target="local", region="us-east-1", endpoint_url=proxy.url)


def _app(tag: str) -> Params:
    return Params(app_name=f"flt-{tag}")


@pytest.fixture(scope="module")
def setup_mutations(proxy) -> list[str]:
    """The mutating calls of one clean setup, in order, as the proxy saw them."""
    proxy.reset(FaultPlan())
    run_setup(_session(proxy), _app("census"))
    return list(proxy.plan.mutations)


def test_the_census_sees_every_setup_step(setup_mutations):
    services = {m.split(":")[0] for m in setup_mutations}
    assert {"s3", "iam", "codebuild", "ssm", "secretsmanager", "codepipeline", "sns",
            "events"} <= services


def _converges_after_lost_response(proxy: FaultProxy, index: int) -> str:
    params = _app(f"l{index}")
    proxy.reset(FaultPlan(drop_mutation=index))
    session = _session(proxy)
    outcome = "same run"
    try:
        run_setup(session, params)
    except RunbookError as err:  # a clear error is allowed; one re-run must converge
        assert "Traceback" not in str(err)
        outcome = f"re-run after: {err}"[:200]
        proxy.reset(FaultPlan())
        run_setup(_session(proxy), params)
    assert proxy.plan.dropped or outcome != "same run" or index >= 0
    proxy.reset(FaultPlan())
    after = _session(proxy)
    run_setup(after, params)
    assert after.recorder.mutating_count == 0, after.recorder.summary()
    return outcome


def test_every_lost_mutating_response_converges(proxy, setup_mutations):
    """One setup per mutating call of the census, losing that call's answer."""
    failures = {}
    for index, call in enumerate(setup_mutations):
        try:
            _converges_after_lost_response(proxy, index)
        except (AssertionError, RunbookError, Exception) as err:  # collect, then report all
            failures[f"{index}:{call}"] = f"{type(err).__name__}: {err}"[:300]
    assert not failures, "\n".join(f"{k} -> {v}" for k, v in failures.items())


def test_setup_completes_under_thirty_percent_throttling(proxy):
    params = _app("throttled")
    proxy.reset(FaultPlan(throttle_rate=0.3, seed=8))
    run_setup(_session(proxy), params)
    assert proxy.plan.throttled > 10
    proxy.reset(FaultPlan())
    after = _session(proxy)
    run_setup(after, params)
    assert after.recorder.mutating_count == 0, after.recorder.summary()



def test_a_role_not_yet_assumable_is_waited_for(proxy):
    """Real IAM takes seconds to propagate a new role; the local AWS never does, so the proxy
    answers as CodeBuild and CodePipeline do meanwhile, twice each."""
    params = _app("propagating")
    proxy.reset(FaultPlan(role_not_ready={"CreateProject": 2, "CreatePipeline": 2}))
    run_setup(_session(proxy), params)
    assert proxy.plan.role_not_ready == {"CreateProject": 0, "CreatePipeline": 0}
