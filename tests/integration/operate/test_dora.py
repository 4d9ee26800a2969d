"""The CloudWatch metric read for the deploy timeline (real GetMetricData on the local AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.core.errors import ParameterError
from runbook_lib.operate import dora

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_read_metric_returns_the_points_put(session, app_name):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch = session.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace=f"{app_name}/App", MetricData=[
        {"MetricName": "ErrorRate", "Dimensions": [{"Name": "Service", "Value": "web"}],
         "Timestamp": now - timedelta(minutes=m), "Value": float(m)} for m in range(1, 6)])
    cloudwatch.put_metric_data(Namespace=f"{app_name}/App", MetricData=[
        {"MetricName": "ErrorRate", "Dimensions": [{"Name": "Service", "Value": "other"}],
         "Timestamp": now - timedelta(minutes=2), "Value": 99.0}])
    series = dora.read_metric(session, f"{app_name}/App", "ErrorRate",
                              now - timedelta(minutes=30), now, {"Service": "web"},
                              stat="Maximum")
    assert series.values == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert series.timestamps == sorted(series.timestamps)
    assert series.period_s == 60
    assert series.label == f"{app_name}/App ErrorRate (Maximum, Service=web)"
    assert session.recorder.calls[("cloudwatch", "GetMetricData")] == 1


def test_read_metric_needs_a_namespace_and_a_name(session):
    with pytest.raises(ParameterError, match="metric_namespace"):
        dora.read_metric(session, "", "ErrorRate", T0, _t(60))
