"""The operator's repository decides its build: what needs no registered repository (nothing
invented for another repository, the buildspec path kept inside it). Detection and discovery in
registered repositories: tests/integration/setup/test_source.py."""

from __future__ import annotations

import pytest

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.param_rules import SAMPLE_DEFAULTS
from runbook_lib.core.params import Params
from runbook_lib.setup import build_project_state


def test_nothing_invented_for_a_repository_that_is_not_the_sample_app():
    mine = Params(source_repo="me/my-app")
    assert (mine.build_template, mine.plaintext_variables, mine.config_parameters,
            mine.secret_names, mine.secure_config_names) == ("", (), (), (), ())
    sample = Params()
    assert {k: getattr(sample, k) for k in SAMPLE_DEFAULTS} == SAMPLE_DEFAULTS
    assert Params(secret_names=()).secret_names == ()  # the sample app without its secrets


@pytest.mark.parametrize("bad", ["/etc/buildspec.yml", "../buildspec.yml", "ci//b.yml",
                                 "ci/./b.yml", "b yml"])
def test_buildspec_path_must_stay_inside_the_repository(bad):
    with pytest.raises(ParameterError) as err:
        Params(buildspec_path=bad)
    assert err.value.field == "buildspec_path"


def test_the_plaintext_demonstration_is_the_sample_apps_only():
    mine = Params(source_repo="me/my-app")
    assert "refused" not in build_project_state.plaintext_demo(mine, mine.names())
    sample = Params()
    shown = build_project_state.plaintext_demo(sample, sample.names())
    assert shown.startswith("demonstration (not your build)") and "refused" in shown
