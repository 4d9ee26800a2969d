"""Plans: readable diffs, apply only pending changes, "no changes" when converged."""

import pytest

from runbook_lib.core import plan


@pytest.mark.parametrize("case, current, desired, expected", [
    ("equal", {"a": 1}, {"a": 1}, []),
    ("changed scalar", {"a": 1}, {"a": 2}, ["a: 1 -> 2"]),
    ("absent key", {}, {"a": "x"}, ["a: (absent) -> x"]),
    ("extra current keys ignored", {"a": 1, "aws_default": 3}, {"a": 1}, []),
    ("nested", {"e": {"t": 60}}, {"e": {"t": 15}}, ["e.t: 60 -> 15"]),
    ("list items", {"l": [1, 2]}, {"l": [1, 3]}, ["l[1]: 2 -> 3"]),
    ("JSON strings compare parsed", {"p": '{"b": 1, "a": 2}'}, {"p": {"a": 2, "b": 1}}, []),
])
def test_diff_values(case, current, desired, expected):
    assert plan.diff_values(current, desired) == expected, case


def test_converge_decides_create_update_unchanged():
    calls = []
    c = plan.converge("r", None, {"a": 1}, lambda: calls.append("create"), lambda: None)
    u = plan.converge("r", {"a": 0}, {"a": 1}, lambda: None, lambda: calls.append("update"))
    n = plan.converge("r", {"a": 1}, {"a": 1}, lambda: None, lambda: None)
    assert (c.action, u.action, n.action) == ("create", "update", "unchanged")
    assert u.diff == ["a: 0 -> 1"]
    p = plan.Plan("step", [c, u, n])
    assert "1 to create, 1 to update" in p.summary()
    p.apply()
    assert calls == ["create", "update"]
    assert not p.has_changes


def test_converged_plan_says_no_changes():
    p = plan.Plan("bucket", [plan.unchanged("S3 bucket x")])
    assert p.summary() == "bucket: no changes (1 resources up to date)"
    assert "= unchanged S3 bucket x" in p.render()


def test_apply_stops_at_first_failure_and_rerun_converges():
    done = []

    def boom():
        raise RuntimeError("AccessDenied")

    p = plan.Plan("s", [plan.create("a", lambda: done.append("a")), plan.create("b", boom),
                        plan.create("c", lambda: done.append("c"))])
    with pytest.raises(RuntimeError):
        p.apply()
    assert done == ["a"]
    assert [c.resource for c in p.pending] == ["b", "c"]
