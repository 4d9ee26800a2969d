"""The pipeline drawing, checked through its layout (boxes, labels, order, colours), not pixels."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from runbook_lib.core.params import Params  # noqa: E402
from runbook_lib.setup import (
    pipeline,  # noqa: E402
    pipeline_shape,
)
from runbook_lib.views import palette, plots


def _shape(**changes):
    params = Params(app_name="sample-app", **changes)
    return pipeline_shape.shape_from_declaration(
        pipeline.pipeline_definition(params, params.names()), deployed=False)


def _actions(boxes):
    return [b for b in boxes if b.kind == "action"]


def test_stages_are_columns_left_to_right_in_pipeline_order():
    boxes = plots.layout_pipeline(_shape())
    headers = [b for b in boxes if b.kind == "stage"]
    assert [b.label.splitlines()[0] for b in headers] == [
        "Source", "Build", "Deploy-staging", "Approve-production", "Deploy-production"]
    xs = [b.x for b in headers]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    for box in _actions(boxes):
        header = headers[box.column]
        assert box.x == header.x
        assert box.y + box.height < header.y  # below its stage header


@pytest.mark.parametrize("deploy_provider, provider_label", [
    ("s3", "S3"), ("ecs", "ECS"), ("codedeploy-ecs", "CodeDeployToECS"),
    ("cloudformation", "CloudFormation"),
])
def test_action_boxes_are_labelled_with_name_and_provider(deploy_provider, provider_label):
    boxes = _actions(plots.layout_pipeline(_shape(
        deploy_provider=deploy_provider, ecs_cluster="c", ecs_service="s")))
    assert [b.label for b in boxes] == [
        "Source\nCodeStarSourceConnection", "Build\nCodeBuild", f"Deploy\n{provider_label}",
        "Approve\nManual approval", f"Deploy\n{provider_label}"]


@pytest.mark.parametrize("category, colour", [
    ("Source", "#56B4E9"), ("Build", "#E69F00"), ("Deploy", "#009E73"),
    ("Approval", "#CC79A7"),
])
def test_colours_are_okabe_ito_by_category(category, colour):
    boxes = [b for b in _actions(plots.layout_pipeline(_shape())) if b.category == category]
    assert boxes and {b.colour for b in boxes} == {colour}
    assert colour in palette.OKABE_ITO.values()


def test_approval_is_marked_without_relying_on_colour():
    boxes = _actions(plots.layout_pipeline(_shape()))
    (approval,) = [b for b in boxes if b.is_approval]
    others = [b for b in boxes if not b.is_approval]
    assert approval.hatch and approval.line_style == "dashed"
    assert all(not b.hatch and b.line_style == "solid" for b in others)


def test_rollback_stages_say_so_in_their_header():
    headers = [b for b in plots.layout_pipeline(_shape()) if b.kind == "stage"]
    rolled_back = [b.label.splitlines()[0] for b in headers if "rollback on failure" in b.label]
    assert rolled_back == ["Deploy-staging", "Deploy-production"]


def test_arrows_join_consecutive_stages_left_to_right():
    boxes = plots.layout_pipeline(_shape())
    arrows = plots.layout_arrows(boxes)
    assert len(arrows) == 4
    for arrow in arrows:
        assert arrow.end[0] > arrow.start[0]


def test_parallel_actions_stack_by_run_order():
    shape = pipeline_shape.PipelineShape(
        name="p", pipeline_type="V2", execution_mode="QUEUED",
        stages=(pipeline_shape.StageShape("Test", (
            pipeline_shape.ActionShape("Unit", "Test", "CodeBuild", 1, (), (), ""),
            pipeline_shape.ActionShape("Smoke", "Test", "CodeBuild", 2, (), (), ""))),))
    unit, smoke = _actions(plots.layout_pipeline(shape))
    assert smoke.y < unit.y


@pytest.mark.parametrize("deployed, words", [
    (False, "planned, not yet created"), (True, "version 1"),
])
def test_figure_has_the_pipeline_name_as_title_and_one_patch_per_box(deployed, words):
    shape = _shape()
    if deployed:
        shape = pipeline_shape.PipelineShape(**{**shape.__dict__, "deployed": True, "version": 1})
    fig = plots.draw_pipeline(shape)
    try:
        (ax,) = fig.axes
        assert ax.get_title().startswith("sample-app-pipeline (V2, SUPERSEDED")
        assert words in ax.get_title()
        assert "runs on pushes to main" in ax.get_title()
        boxes = plots.layout_pipeline(shape)
        arrows = plots.layout_arrows(boxes)
        assert len(ax.patches) == len(boxes) + len(arrows)
        texts = [t.get_text() for t in ax.texts]
        assert texts == [b.label for b in boxes]
        assert plots.figure_png(fig).startswith(b"\x89PNG")
    finally:
        plt.close(fig)
