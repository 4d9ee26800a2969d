"""Drawings of library results; they take dataclasses and never call AWS.

Each drawing is split into a pure layout (boxes with positions, labels and colours, which tests
check) and a thin matplotlib renderer, so that what the operator sees is tested without
comparing pixels. Colours come from the house palette (:mod:`runbook_lib.views.palette`,
Okabe-Ito), which stays distinguishable with the common colour-vision deficiencies; the
approval is marked by hatching and a dashed edge as well, so it does not depend on colour at
all. The operating figures (durations, failures, DORA) are in
:mod:`runbook_lib.views.operate_plots`.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runbook_lib.setup.pipeline_shape import ActionShape, PipelineShape, StageShape
from runbook_lib.views.operate_plots import draw_metric_timeline, metric_timeline_data
from runbook_lib.views.palette import DARK_FILLS, OKABE_ITO

CATEGORY_COLOURS = {
    "Source": OKABE_ITO["sky blue"],
    "Build": OKABE_ITO["orange"],
    "Test": OKABE_ITO["yellow"],
    "Deploy": OKABE_ITO["bluish green"],
    "Approval": OKABE_ITO["reddish purple"],
    "Invoke": OKABE_ITO["blue"],
    "Compute": OKABE_ITO["vermillion"],
}
STAGE_COLOUR = "#FFFFFF"
if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from runbook_lib.operate.dora import DoraReport, MetricSeries

_DARK_FILLS = DARK_FILLS

COLUMN_WIDTH = 2.4
COLUMN_GAP = 0.9
HEADER_HEIGHT = 0.7
ACTION_HEIGHT = 0.9
ROW_GAP = 0.3
LABEL_POINTS = 11


@dataclass(frozen=True)
class Box:
    """One rectangle of a drawing: a stage header or an action, in data coordinates."""

    x: float
    y: float
    width: float
    height: float
    label: str
    kind: str  # "stage" or "action"
    column: int
    category: str = ""
    colour: str = STAGE_COLOUR
    text_colour: str = "#000000"
    hatch: str = ""
    line_style: str = "solid"

    @property
    def is_approval(self) -> bool:
        return self.category == "Approval"

    @property
    def right_middle(self) -> tuple[float, float]:
        return (self.x + self.width, self.y + self.height / 2)

    @property
    def left_middle(self) -> tuple[float, float]:
        return (self.x, self.y + self.height / 2)


@dataclass(frozen=True)
class Arrow:
    start: tuple[float, float]
    end: tuple[float, float]


# -- pipeline -----------------------------------------------------------------------------------


def layout_pipeline(shape: PipelineShape) -> list[Box]:
    """Stages as columns left to right (header on top), their actions stacked below by run
    order; pure, so tests check positions, labels and colours instead of pixels."""
    boxes: list[Box] = []
    for column, stage in enumerate(shape.stages):
        x = column * (COLUMN_WIDTH + COLUMN_GAP)
        boxes.append(_stage_box(stage, column, x))
        for row, action in enumerate(stage.actions):
            top = -(HEADER_HEIGHT + ROW_GAP + row * (ACTION_HEIGHT + ROW_GAP))
            boxes.append(_action_box(action, column, x, top - ACTION_HEIGHT))
    return boxes


def layout_arrows(boxes: list[Box]) -> list[Arrow]:
    """One arrow from each stage header to the next: the order a run moves in."""
    headers = sorted((b for b in boxes if b.kind == "stage"), key=lambda b: b.column)
    return [Arrow(a.right_middle, b.left_middle) for a, b in itertools.pairwise(headers)]


def pipeline_title(shape: PipelineShape) -> str:
    state = f"created, version {shape.version}" if shape.deployed else "planned, not yet created"
    trigger = (f", runs on pushes to {', '.join(shape.trigger_branches)}"
               if shape.trigger_branches else "")
    return f"{shape.name} ({shape.pipeline_type}, {shape.execution_mode}, {state}{trigger})"


def draw_pipeline(shape: PipelineShape) -> Figure:
    """The pipeline as a matplotlib Figure: boxes from :func:`layout_pipeline`, arrows between
    stages, a legend of action categories and the pipeline name as title."""
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    boxes = layout_pipeline(shape)
    columns = max(1, len(shape.stages))
    rows = max((len(s.actions) for s in shape.stages), default=1)
    width = columns * (COLUMN_WIDTH + COLUMN_GAP)
    height = HEADER_HEIGHT + ROW_GAP + rows * (ACTION_HEIGHT + ROW_GAP)
    # About 0.7 inch per unit: a five-stage pipeline is ~12 inches, so at the width JupyterLab
    # shows it the 11-point labels stay at least 11 px high.
    fig, ax = plt.subplots(figsize=(max(8.0, 0.72 * width), 1.4 + 1.3 * height))
    for box in boxes:
        ax.add_patch(FancyBboxPatch(
            (box.x, box.y), box.width, box.height, boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=box.colour, edgecolor="#000000", hatch=box.hatch or None,
            linestyle=box.line_style, linewidth=2.0 if box.is_approval else 1.0,
        ))
        ax.text(box.x + box.width / 2, box.y + box.height / 2, box.label, ha="center",
                va="center", fontsize=LABEL_POINTS, color=box.text_colour,
                fontweight="bold" if box.kind == "stage" else "normal",
                bbox={"facecolor": box.colour, "edgecolor": "none", "pad": 1.0}
                if box.hatch else None)
    for arrow in layout_arrows(boxes):
        ax.add_patch(FancyArrowPatch(arrow.start, arrow.end, arrowstyle="-|>",
                                     mutation_scale=14, color="#000000"))
    present = list(dict.fromkeys(b.category for b in boxes if b.kind == "action"))
    ax.legend(handles=[Patch(facecolor=CATEGORY_COLOURS.get(c, OKABE_ITO["grey"]),
                             edgecolor="#000000", hatch="//" if c == "Approval" else None,
                             label=c) for c in present],
              loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=max(1, len(present)),
              frameon=False, fontsize=LABEL_POINTS)
    ax.set_xlim(-0.2, width - COLUMN_GAP + 0.2)
    ax.set_ylim(-height - 0.2, 0.2)
    ax.set_axis_off()
    ax.set_title(pipeline_title(shape), fontsize=LABEL_POINTS + 2)
    fig.tight_layout()
    return fig


def _stage_box(stage: StageShape, column: int, x: float) -> Box:
    label = stage.name + ("\nrollback on failure" if stage.on_failure == "ROLLBACK" else "")
    label += f"\n{stage.gate_badge}" if stage.gate_badge else ""
    return Box(x, -HEADER_HEIGHT, COLUMN_WIDTH, HEADER_HEIGHT, label, "stage", column)


def _action_box(action: ActionShape, column: int, x: float, y: float) -> Box:
    colour = CATEGORY_COLOURS.get(action.category, OKABE_ITO["grey"])
    approval = action.category == "Approval"
    provider = f"{action.provider} approval" if approval else action.provider
    return Box(
        x, y, COLUMN_WIDTH, ACTION_HEIGHT, f"{action.name}\n{provider}", "action", column,
        category=action.category, colour=colour,
        text_colour="#FFFFFF" if colour in _DARK_FILLS else "#000000",
        hatch="//" if approval else "", line_style="dashed" if approval else "solid",
    )


# -- showing ------------------------------------------------------------------------------------


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes: the same picture in JupyterLab, papermill and HTML reports,
    whatever matplotlib backend the kernel runs."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def pipeline_figure(shape: PipelineShape):
    """The pipeline drawing as a displayable PNG (for a drawing re-rendered after Apply)."""
    from IPython.display import Image
    from matplotlib import pyplot as plt

    fig = draw_pipeline(shape)
    try:
        return Image(data=figure_png(fig))
    finally:
        plt.close(fig)


def show_figure(fig: Figure) -> None:
    """Display the figure once, as PNG, and close it so the inline backend does not draw it
    a second time."""
    from IPython.display import Image, display
    from matplotlib import pyplot as plt

    display(Image(data=figure_png(fig)))
    plt.close(fig)


def show_metric_timeline(series: MetricSeries | None, report: DoraReport) -> None:
    """Show the metric under production deploys and rollbacks when one was read; nothing
    otherwise (``dora.describe_metric`` has said why)."""
    if series:
        show_figure(draw_metric_timeline(metric_timeline_data(series, report)))
