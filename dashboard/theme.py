"""The control-room palette and the rule that turns a risk score into a colour.

Dark, low-glare surfaces with a few saturated signal colours: people glance at a wall screen
from across the floor, so meaning is carried by colour *and* by a word or symbol (colour-blind
operators, washed-out projectors).
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Palette:
    """The colours one theme draws charts with."""

    panel: str
    text: str
    grid: str
    muted: str
    series: tuple[str, ...]
    production: str
    ok: str
    maintenance: str
    warning: str
    critical: str
    accent: str


# ISA-101 high-performance palette: neutral greys for everything normal, colour only for
# what is abnormal (alarms, late work, a machine down).
HIGH_PERFORMANCE = Palette(
    panel="#e4e4e4",
    text="#1f1f1f",
    grid="#c4c4c4",
    muted="#5f5f5f",
    series=("#404040", "#6b6b6b", "#2f4f6f", "#8a8a8a", "#505a64"),
    production="#9a9a9a",
    ok="#8c8c8c",
    maintenance="#4a6fa5",
    warning="#d08c00",
    critical="#c8102e",
    accent="#1f1f1f",
)


def palette(theme: str = "dark") -> Palette:
    if theme == "hp":
        return HIGH_PERFORMANCE
    return Palette(
        panel=PANEL, text=TEXT, grid=GRID, muted=MUTED, series=SERIES, production=PRODUCTION,
        ok=OK, maintenance=MAINTENANCE, warning=WARNING, critical=CRITICAL, accent=ACCENT,
    )  # fmt: skip


@functools.cache
def plotly_template(theme: str = "dark") -> go.layout.Template:
    """A template matching the CSS (dark, or ISA-101 greys), with fonts for a wall screen.

    Built once per process and theme (a constant, not state): plotly validates a template on
    construction, which cost more than drawing the small charts themselves."""
    p = palette(theme)
    layout: dict[str, Any] = {
        "paper_bgcolor": p.panel,
        "plot_bgcolor": p.panel,
        "font": {"color": p.text, "size": 13, "family": "Inter, 'Segoe UI', Roboto, sans-serif"},
        "colorway": list(p.series),
        "xaxis": {"gridcolor": p.grid, "zerolinecolor": p.grid, "linecolor": p.grid},
        "yaxis": {"gridcolor": p.grid, "zerolinecolor": p.grid, "linecolor": p.grid},
        "legend": {"bgcolor": "rgba(0,0,0,0)", "font": {"color": p.text}},
        "hoverlabel": {"bgcolor": p.panel, "bordercolor": p.grid, "font": {"color": p.text}},
        "margin": {"l": 56, "r": 16, "t": 36, "b": 36},
    }
    return go.layout.Template(layout=layout)
