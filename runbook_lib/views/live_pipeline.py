"""The pipeline drawing of a running execution, as SVG: one box per action, coloured and marked
by its status, its elapsed time, and a progress bar under each stage.

Pure: it takes the :class:`~runbook_lib.operate.watch.ExecutionProgress` of one look and
returns markup, so the live view (:mod:`runbook_lib.views.progress`) redraws it in place on every
look and tests check boxes and colours without a browser. The same status always has the same
colour and symbol as everywhere else (:mod:`runbook_lib.views.palette`).
"""

from __future__ import annotations

import html

from runbook_lib.core.text import format_duration
from runbook_lib.operate.watch import ActionProgress, ExecutionProgress, StageProgress
from runbook_lib.views import palette

COLUMN_WIDTH = 190
COLUMN_GAP = 40
HEADER_HEIGHT = 44
ACTION_HEIGHT = 46
ROW_GAP = 10
MARGIN = 10
BAR_HEIGHT = 6


def _stage_fraction(stage: StageProgress) -> float:
    return sum(a.finished for a in stage.actions) / len(stage.actions) if stage.actions else 0.0


def _text(x: float, y: float, value: str, colour: str = "#000000", bold: bool = False) -> str:
    weight = " font-weight='bold'" if bold else ""
    return (f"<text x='{x:.0f}' y='{y:.0f}' fill='{colour}' font-size='12' "
            f"font-family='sans-serif'{weight}>{html.escape(value)}</text>")


def _stage_svg(stage: StageProgress, x: float, now) -> str:
    style = palette.style(stage.status)
    fraction = _stage_fraction(stage)
    bar_y = MARGIN + HEADER_HEIGHT - BAR_HEIGHT - 4
    return (
        f"<g class='stage' data-stage='{html.escape(stage.name)}' "
        f"data-status='{html.escape(stage.status)}'>"
        f"<rect x='{x}' y='{MARGIN}' width='{COLUMN_WIDTH}' height='{HEADER_HEIGHT}' rx='6' "
        f"fill='#FFFFFF' stroke='#000000'/>"
        + _text(x + 8, MARGIN + 16, stage.name, bold=True)
        + _text(x + 8, MARGIN + 30, f"{style.symbol} {stage.status} · "
                                    f"{format_duration(stage.elapsed_seconds(now))}")
        + f"<rect x='{x + 8}' y='{bar_y}' width='{COLUMN_WIDTH - 16}' height='{BAR_HEIGHT}' "
          f"fill='#EEEEEE'/>"
        f"<rect class='stage-bar' x='{x + 8}' y='{bar_y}' "
        f"width='{(COLUMN_WIDTH - 16) * fraction:.0f}' height='{BAR_HEIGHT}' "
        f"fill='{style.colour}'/></g>")


def _action_svg(action: ActionProgress, x: float, y: float, now) -> str:
    waiting = action.category == "Approval" and action.status == "InProgress"
    style = palette.style("Waiting" if waiting else action.status)
    dashed = " stroke-dasharray='5,3'" if action.category == "Approval" else ""
    return (
        f"<g class='action' data-action='{html.escape(action.stage)}/"
        f"{html.escape(action.action)}' data-status='{html.escape(action.status)}'>"
        f"<rect x='{x}' y='{y}' width='{COLUMN_WIDTH}' height='{ACTION_HEIGHT}' rx='6' "
        f"fill='{style.colour}' stroke='#000000'{dashed}/>"
        + _text(x + 8, y + 18, action.action, style.text_colour, bold=True)
        + _text(x + 8, y + 35, f"{style.symbol} {action.status} · "
                               f"{format_duration(action.elapsed_seconds(now))}",
                style.text_colour)
        + "</g>")


def _arrow(x: float) -> str:
    y = MARGIN + HEADER_HEIGHT / 2
    return (f"<line x1='{x + COLUMN_WIDTH}' y1='{y}' x2='{x + COLUMN_WIDTH + COLUMN_GAP - 4}' "
            f"y2='{y}' stroke='#000000' marker-end='url(#runbook-arrow)'/>")


def pipeline_svg(progress: ExecutionProgress) -> str:
    """The whole drawing for one look at an execution; deterministic for a given look."""
    parts = []
    rows = max((len(s.actions) for s in progress.stages), default=0)
    for column, stage in enumerate(progress.stages):
        x = MARGIN + column * (COLUMN_WIDTH + COLUMN_GAP)
        parts.append(_stage_svg(stage, x, progress.now))
        if column < len(progress.stages) - 1:
            parts.append(_arrow(x))
        for row, action in enumerate(stage.actions):
            y = MARGIN + HEADER_HEIGHT + ROW_GAP + row * (ACTION_HEIGHT + ROW_GAP)
            parts.append(_action_svg(action, x, y, progress.now))
    width = 2 * MARGIN + len(progress.stages) * (COLUMN_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = 2 * MARGIN + HEADER_HEIGHT + ROW_GAP + rows * (ACTION_HEIGHT + ROW_GAP)
    marker = ("<defs><marker id='runbook-arrow' markerWidth='8' markerHeight='8' refX='7' "
              "refY='4' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#000000'/></marker></defs>")
    return (f"<svg class='runbook-pipeline' xmlns='http://www.w3.org/2000/svg' "
            f"width='{max(width, 0)}' height='{height}' viewBox='0 0 {max(width, 0)} {height}' "
            f"style='max-width:100%;height:auto' role='img' "
            f"aria-label='{html.escape(progress.pipeline)} execution {progress.status}'>"
            f"{marker}{''.join(parts)}</svg>")


def outcome_link(progress: ExecutionProgress, build_id: str = "") -> str:
    """Where to go once the run stops: the failed build's triage, or the approval waiting."""
    if progress.waiting_for_approval and not progress.finished:
        waiting = progress.waiting_for_approval
        return (f"<p>Waiting for approval at {html.escape(waiting.stage)}/"
                f"{html.escape(waiting.action)}: answer it in "
                "<a href='11_approvals.ipynb'>11_approvals.ipynb</a></p>")
    failed = [a for s in progress.stages for a in s.actions if a.status == "Failed"]
    if progress.finished and failed:
        first = failed[0]
        build = html.escape(build_id or first.external_id)
        where = f" (build <code>{build}</code>)" if build else ""
        return (f"<p>{html.escape(first.stage)}/{html.escape(first.action)} failed{where}: "
                "read and classify its log in <a href='10_build_logs.ipynb'>"
                "10_build_logs.ipynb</a></p>")
    return ""
