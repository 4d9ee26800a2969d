"""The house palette: the one home of every status colour and symbol the views show.

Colours are Okabe-Ito, which stay distinguishable with the common colour-vision deficiencies;
every status also has a symbol (and the drawings a hatch), so nothing relies on colour alone.
Plots, HTML tables, badges and the live pipeline drawing all read from here, so a status looks
the same wherever it appears.
"""

from __future__ import annotations

from dataclasses import dataclass

OKABE_ITO = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}

DARK_FILLS = frozenset({OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["black"]})


@dataclass(frozen=True)
class Style:
    """How one status is shown: a fill colour, a symbol, and a hatch for drawings."""

    colour: str
    symbol: str
    hatch: str = ""

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads on ``colour``."""
        return "#FFFFFF" if self.colour in DARK_FILLS else "#000000"


_GREEN, _RED, _SKY = OKABE_ITO["bluish green"], OKABE_ITO["vermillion"], OKABE_ITO["sky blue"]
_GREY, _ORANGE, _PURPLE = OKABE_ITO["grey"], OKABE_ITO["orange"], OKABE_ITO["reddish purple"]

STATUS_STYLES: dict[str, Style] = {
    # pipeline executions, stages and actions
    "Succeeded": Style(_GREEN, "✔"),
    "Failed": Style(_RED, "✖", "xx"),
    "InProgress": Style(_SKY, "▶", ".."),
    "Pending": Style(_GREY, "·"),
    "Stopped": Style(_GREY, "■"),
    "Stopping": Style(_GREY, "■"),
    "Abandoned": Style(_GREY, "■"),
    "Superseded": Style(_GREY, "↷"),
    "Waiting": Style(_PURPLE, "‖", "//"),
    # plan changes
    "create": Style(_GREEN, "+"),
    "update": Style(_ORANGE, "~"),
    "delete": Style(_RED, "-"),
    "unchanged": Style(_GREY, "="),
    # setup steps in the overview
    "converged": Style(_GREEN, "✔"),
    "changes pending": Style(_ORANGE, "~"),
    "not applied": Style(_GREY, "○"),
    "not owned": Style(_RED, "⚠"),
    "read-only": Style(OKABE_ITO["sky blue"], "ℹ"),
    "error": Style(_RED, "✖"),
    # findings
    "error finding": Style(_RED, "✖"),
    "warning": Style(_ORANGE, "⚠"),
    "info": Style(_SKY, "ℹ"),
    "ok": Style(_GREEN, "✔"),
}
UNKNOWN = Style(_GREY, "?")


def style(status: str) -> Style:
    """The style of a status, in any case; unknown statuses are grey with a question mark."""
    found = STATUS_STYLES.get(status)
    if found is None:
        lowered = {k.lower(): v for k, v in STATUS_STYLES.items()}
        found = lowered.get(str(status).lower(), UNKNOWN)
    return found


def colour(status: str) -> str:
    return style(status).colour


def hatch(status: str) -> str:
    return style(status).hatch
