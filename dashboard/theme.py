"""The control-room palette and the rule that turns a risk score into a colour.

Dark, low-glare surfaces with a few saturated signal colours: people glance at a wall screen
from across the floor, so meaning is carried by colour *and* by a word or symbol (colour-blind
operators, washed-out projectors).
"""

from __future__ import annotations

import enum
import functools
import math
from typing import Any

import plotly.graph_objects as go

from dashboard.config import DashboardConfig

BACKGROUND = "#0b1016"
PANEL = "#131b24"
GRID = "#243140"
TEXT = "#e6edf3"
MUTED = "#8b9bab"
OK = "#2ea66f"
WARNING = "#e3a21a"
CRITICAL = "#e5484d"
UNKNOWN = "#5b6b7b"
PRODUCTION = "#3b82c4"
MAINTENANCE = "#d9822b"
ACCENT = "#4cc2ff"

# Distinct, dark-background-friendly colours for series (sensors, model versions).
SERIES = (
    "#4cc2ff",
    "#f2b134",
    "#7bd88f",
    "#ff7ab2",
    "#b39dff",
    "#56d4c9",
    "#ff9f5a",
    "#c3e88d",
    "#82aaff",
    "#f78c6c",
)

STATUS_COLOURS = {
    "running": OK,
    "down": CRITICAL,
    "maintenance": MAINTENANCE,
    "offline": UNKNOWN,
}


class RiskLevel(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


RISK_COLOURS = {
    RiskLevel.OK: OK,
    RiskLevel.WARNING: WARNING,
    RiskLevel.CRITICAL: CRITICAL,
    RiskLevel.UNKNOWN: UNKNOWN,
}


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def risk_level(p_fail: float | None, rul_low: float | None, config: DashboardConfig) -> RiskLevel:
    """The worse of what ``p_fail`` and ``rul_low`` (hours) say; unknown without a score."""
    if _missing(p_fail) and _missing(rul_low):
        return RiskLevel.UNKNOWN
    p = None if _missing(p_fail) else float(p_fail)  # type: ignore[arg-type]
    rul = None if _missing(rul_low) else float(rul_low)  # type: ignore[arg-type]
    if (p is not None and p >= config.critical_p_fail) or (
        rul is not None and rul <= config.critical_rul_low_h
    ):
        return RiskLevel.CRITICAL
    if (p is not None and p >= config.warning_p_fail) or (
        rul is not None and rul <= config.warning_rul_low_h
    ):
        return RiskLevel.WARNING
    return RiskLevel.OK


@functools.cache
def plotly_template() -> go.layout.Template:
    """A dark template matching the CSS, with large-enough fonts for a wall screen.

    Built once per process (a constant, not state): plotly validates a template on
    construction, which cost more than drawing the small charts themselves."""
    layout: dict[str, Any] = {
        "paper_bgcolor": PANEL,
        "plot_bgcolor": PANEL,
        "font": {"color": TEXT, "size": 13, "family": "Inter, 'Segoe UI', Roboto, sans-serif"},
        "colorway": list(SERIES),
        "xaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID},
        "legend": {"bgcolor": "rgba(0,0,0,0)", "font": {"color": TEXT}},
        "hoverlabel": {"bgcolor": BACKGROUND, "bordercolor": GRID, "font": {"color": TEXT}},
        "margin": {"l": 56, "r": 16, "t": 36, "b": 36},
    }
    return go.layout.Template(layout=layout)
