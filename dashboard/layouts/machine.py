"""Machine page: sensor trends, risk history with model versions, top features, events.

The range and the sensors are chosen on the page; the trend query downsamples in the database
to the bucket the range needs (`dashboard.downsample`), so a week of one-minute data for twenty
sensors arrives as a few thousand points.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.layouts.common import age, fmt_age, fmt_hours, fmt_pct, fmt_ts
from dashboard.theme import RiskLevel, risk_level
from dashboard.words import RUL_LOW_LABEL, fmt_duration, risk_label
from millwright.core.clock import PlantClock

if TYPE_CHECKING:
    from dashboard.callbacks.machine import MachineView

# Not responsive: in that mode dcc.Graph fits each chart to its box again right after drawing
# it, a second full draw of the twenty trend panels, and trades the figures' heights for the
# box's. Figures autosize to their panel's width when drawn; `assets/live.js` fits them again
# when the window changes size.
GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": False}


def layout(
    machine: dict[str, Any],
    sensors: pd.DataFrame,
    view: MachineView | None = None,
) -> html.Div:
    """The machine page; with ``view`` (what the refresh callback would send first) the page
    arrives drawn: its charts mount with their figures instead of mounting empty and being
    filled by a second request, and the refresh callback then runs on the tick, the URL's
    query (time range, theme) and the sensor picker only."""

    def first(name: str, prop: str = "figure") -> dict[str, Any]:
        return {prop: getattr(view, name)} if view is not None else {}

    options: list[dict[str, Any]] = [
        {"label": f"{r.name} [{r.unit}]" if r.unit else str(r.name), "value": int(r.id)}
        for r in sensors.itertuples(index=False)
    ]
    shown = view.shown_sensors if view is not None else [o["value"] for o in options]
    return html.Div(
        className="machine",
        children=[
            dcc.Store(id="machine-name", data=str(machine["name"])),
            html.Div(
                className="page-head",
                children=[
                    html.H1(machine["name"], className="page-title", id="machine-title"),
                    html.Span(
                        f"{machine['line'] or 'no line'} · {machine['machine_class'] or ''}",
                        className="muted",
                    ),
                ],
            ),
            html.Div(id="machine-header", className="summary", **first("header", "children")),
            html.Div(
                className="grid-2",
                children=[
                    html.Section(
                        className="panel",
                        children=[
                            html.H2("Risk and events", className="panel-title"),
                            dcc.Graph(id="machine-risk", config=GRAPH_CONFIG, **first("risk")),
                        ],
                    ),
                    html.Section(
                        className="panel",
                        children=[
                            html.H2("What drives the risk (latest score)", className="panel-title"),
                            html.Div(
                                id="machine-score", className="muted", **first("score", "children")
                            ),
                            dcc.Graph(
                                id="machine-features", config=GRAPH_CONFIG, **first("features")
                            ),
                        ],
                    ),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.H2(
                        id="machine-trends-title",
                        className="panel-title",
                        children=view.trends_title if view is not None else "Sensor trends",
                    ),
                    html.Div(
                        className="controls",
                        children=[
                            dcc.Dropdown(
                                id="machine-sensors",
                                options=options,
                                value=shown,
                                multi=True,
                                placeholder="Sensors",
                                className="sensor-picker",
                            ),
                        ],
                    ),
                    html.Div(
                        view.hidden_note if view is not None else "",
                        id="machine-hidden-sensors",
                        className="muted",
                    ),
                    dcc.Graph(id="machine-trends", config=GRAPH_CONFIG, **first("trends")),
                ],
            ),
            html.Div(id="machine-stamp", **first("stamp", "children")),
        ],
    )


def not_found(name: str, base_path: str) -> html.Div:
    return html.Div(
        className="machine",
        children=[
            html.H1("Unknown machine", className="page-title"),
            html.P(f"No machine is named {name!r}.", className="muted"),
            dcc.Link("Back to the overview", href=base_path, className="link"),
        ],
    )


STATUS_WORDS = {
    "running": "Running",
    "down": "DOWN",
    "maintenance": "In maintenance",
    "offline": "Offline",
}


def _cause_words(cause: dict[str, Any] | None) -> str:
    if not cause:
        return ""
    raw = cause.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    code = details.get("code") or details.get("reason") or details.get("text")
    words = {"failure": "failure", "maintenance": "maintenance", "offline": "went offline",
             "error": "error"}.get(str(cause.get("kind")), str(cause.get("kind")))  # fmt: skip
    return f"{words}{f' {code}' if code else ''} (from {cause.get('source')})"


def render_header(
    machine: dict[str, Any],
    latest: dict[str, Any] | None,
    last_reading_at: Any,
    config: DashboardConfig,
    now: datetime,
    clock: PlantClock | None = None,
    cause: dict[str, Any] | None = None,
    thresholds: Any = None,
) -> list[Any]:
    """Status first (a machine that is down says why and since when, and its risk is greyed:
    a risk of failure means little for a machine that has failed), then the latest risk in
    words with its horizon, the model and how fresh the data is."""
    latest = latest or {}
    status = str(machine["status"])
    level = risk_level(latest.get("p_fail"), latest.get("rul_low"), config)
    data_age = age(last_reading_at, now)
    stale = data_age is None or data_age > timedelta(seconds=config.stale_after_s)
    not_running = status != "running"
    risk_cls = "muted-item" if not_running else (
        "" if level is RiskLevel.UNKNOWN else f"sev-{level.value}")  # fmt: skip
    since = machine.get("status_since")
    status_text = STATUS_WORDS.get(status, status)
    status_label = "status"
    if not_running and since is not None:
        status_text = f"{status_text} for {fmt_duration(age(since, now))}"
        why = _cause_words(cause)
        status_label = f"since {fmt_ts(since, clock)}" + (f" · {why}" if why else "")
    risk_note = " (not applicable while not running)" if not_running else ""
    items = [
        (status_text, status_label, f"status-{status} status-item", "machine-status"),
        (fmt_pct(latest.get("p_fail")), risk_label(latest.get("horizon_hours")) + risk_note,
         risk_cls, "machine-p-fail"),
        (fmt_hours(latest.get("rul_low")), RUL_LOW_LABEL, risk_cls, "machine-rul-low"),
        (str(latest.get("model_version") or "—"), "model", "", "machine-model"),
        (fmt_ts(latest.get("ts"), clock), "scored", "", "machine-scored"),
        (
            ("STALE · " if stale else "") + fmt_age(data_age),
            "last data",
            "stale-text" if stale else "",
            "machine-last-data",
        ),
    ]  # fmt: skip
    return [
        html.Div(
            className=f"summary-item {cls}",
            id=ident,
            children=[
                html.Span(value, className="summary-value"),
                html.Span(label, className="summary-label"),
            ],
        )
        for value, label, cls, ident in items
    ]
