"""Faults converge: lost responses and throttling during the setup, through a faulty proxy.

For every mutating call the setup makes, the proxy forwards the call (it takes effect) and loses
the answer; botocore retries. The run must then either succeed, or stop with a clear error
after which one re-run converges; the run after that makes no mutating call at all. Under 30 %
throttling, the whole setup completes.
"""

from __future__ import annotations

import pytest
from botocore.retries.standard import ExponentialBackoff
from faults_proxy import FaultPlan, FaultProxy

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.headless import HEADLESS_ENV
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import bucket, codebuild, config_store, iam, monitoring, pipeline

# Minutes of retries with botocore's backoff: in `make test` and CI, not in `make check`.
pytestmark = pytest.mark.slow

STEPS = (bucket.plan_artifact_bucket, bucket.plan_deploy_buckets, iam.plan_roles,
         codebuild.plan_build_project, config_store.plan_config, pipeline.plan_pipeline,
         monitoring.plan_monitoring)


@pytest.fixture(scope="module", autouse=True)
def _headless():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HEADLESS_ENV, "1")  # secrets get local placeholders, no prompt
        yield


@pytest.fixture(autouse=True)
def _no_backoff_sleep(monkeypatch):
    """botocore sleeps up to seconds before retrying a throttled call (1 s base, doubling);
    these tests check that the setup converges, not how long AWS asks clients to wait, so the
    retries go at once (the retry count, the quota and the errors are botocore's own)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture(scope="module")
def proxy(local_aws):
    with FaultProxy(local_aws.endpoint_url) as running:
        yield running


def run_setup(session: AwsSession, params: Params, steps=STEPS) -> None:
    """Setup steps, planned and applied, as notebooks 02-08 do with apply=True."""
    names = params.names(session.account_id())
    for step in steps:
        step(session, params, names).apply()


def _session(proxy: FaultProxy) -> AwsSession:
    return AwsSession(target="local", region="us-east-1", endpoint_url=proxy.url)


def _app(tag: str) -> Params:
    return Params(app_name=f"flt-{tag}")


@pytest.fixture(scope="module")
def setup_mutations(proxy) -> list[tuple[int, str]]:
    """(step index, call) of every mutating call of one clean setup, in order."""
    proxy.reset(FaultPlan())
    session, params = _session(proxy), _app("census")
    calls: list[tuple[int, str]] = []
    for index, step in enumerate(STEPS):
        run_setup(session, params, (step,))
        calls += [(index, call) for call in proxy.plan.mutations[len(calls):]]
    return calls


def test_the_census_sees_every_setup_step(setup_mutations):
    services = {call.split(":")[0] for _, call in setup_mutations}
    assert {"s3", "iam", "codebuild", "ssm", "secretsmanager", "codepipeline", "sns",
            "events", "logs"} <= services
    assert {index for index, _ in setup_mutations} == set(range(len(STEPS)))


def _lose_one_answer(proxy: FaultProxy, offset: int, step: int) -> str:
    """A fresh app: the steps before ``step`` run clean, then ``step`` loses the answer of its
    ``offset``-th mutating call; it must converge, and the run after must change nothing."""
    params = _app(f"l{step}-{offset}")
    proxy.reset(FaultPlan())
    run_setup(_session(proxy), params, STEPS[:step])
    proxy.reset(FaultPlan(drop_mutation=offset))
    outcome = "same run"
    try:
        run_setup(_session(proxy), params, STEPS[step:step + 1])
    except RunbookError as err:  # a clear error is allowed; one re-run must converge
        outcome = f"error, then re-run: {str(err)[:120]}"
        assert proxy.plan.dropped, "the step failed before the fault"
        proxy.reset(FaultPlan())
        run_setup(_session(proxy), params, STEPS[step:step + 1])
    else:
        assert proxy.plan.dropped, "no answer was lost: the census and this run differ"
    proxy.reset(FaultPlan())
    after = _session(proxy)
    run_setup(after, params, STEPS[:step + 1])
    assert after.recorder.mutating_count == 0, after.recorder.summary()
    return outcome


@pytest.mark.parametrize("step", range(len(STEPS)), ids=[s.__name__ for s in STEPS])
def test_every_lost_mutating_answer_converges(proxy, setup_mutations, step):
    """For each mutating call of the step: lose its answer, then converge (same run or one
    re-run after a clear error), then a run with zero mutations."""
    first = next(i for i, (s, _) in enumerate(setup_mutations) if s == step)
    outcomes, failures = {}, {}
    for index, (s, call) in enumerate(setup_mutations):
        if s != step:
            continue
        try:
            outcomes[f"{index}:{call}"] = _lose_one_answer(proxy, index - first, step)
        except (AssertionError, RunbookError) as err:
            failures[f"{index}:{call}"] = f"{type(err).__name__}: {err}"[:300]
    assert not failures, "\n".join(f"{k} -> {v}" for k, v in failures.items())
    # The spec allows a clear error and one re-run; the setup does better: creates whose retry
    # meets "already exists" adopt the resource when it is ours, so every case converges at once.
    assert {k: v for k, v in outcomes.items() if v != "same run"} == {}


@pytest.mark.parametrize("seed", [8, 1234])
def test_setup_completes_under_thirty_percent_throttling(proxy, seed):
    params = _app(f"throttled-{seed}")
    proxy.reset(FaultPlan(throttle_rate=0.3, seed=seed))
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
