"""Outcomes page: what the predictive loop earned the plant over a period — figures, their
trend, the failures (each with its alert or "missed"), and the reactive and preventive
counterfactual beside the actual cost."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from outcomes import Counterfactual, Figures

RANGES = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90))


def layout() -> html.Div:
    return html.Div(
        className="outcomes",
        children=[
            html.Div(
                className="page-head",
                children=[
                    html.H1("Outcomes", className="page-title"),
                    dcc.Dropdown(
                        id="outcomes-range",
                        options=[{"label": label, "value": days} for label, days in RANGES],
                        value=30,
                        clearable=False,
                        style={"width": "12rem"},
                    ),
                ],
            ),
            html.Section(className="panel", children=[html.Div(id="outcomes-figures")]),
            html.Section(
                className="panel",
                children=[dcc.Graph(id="outcomes-trend", config={"displayModeBar": False})],
            ),
            html.Section(className="panel", children=[html.Div(id="outcomes-counterfactual")]),
            html.Section(className="panel", children=[html.Div(id="outcomes-failures")]),
        ],
    )


def _value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "h":
        return f"{value:,.1f} h"
    if kind == "eur":
        return f"{value:,.0f} €"
    return f"{value:,}"


TILES = (
    ("Availability", "availability", "pct"),
    ("Unplanned downtime", "unplanned_downtime_hours", "h"),
    ("Planned downtime", "planned_downtime_hours", "h"),
    ("Failures", "failures", "n"),
    ("MTBF", "mtbf_hours", "h"),
    ("MTTR", "mttr_hours", "h"),
    ("Alerted in time", "recall", "pct"),
    ("Lead time (median)", "lead_time_median_hours", "h"),
    ("Lead time (10th pct)", "lead_time_p10_hours", "h"),
    ("False alarms", "false_alarm_rate", "pct"),
    ("Maintenance done / planned", None, "n"),
    ("Orders on time", "on_time_rate", "pct"),
    ("Order lateness", "lateness_hours", "h"),
    ("Parts scrapped", "scrapped_parts", "n"),
)


def render_figures(plant: Figures) -> html.Div:
    tiles = []
    for label, key, kind in TILES:
        if key is None:
            text = f"{plant.maintenance_done} / {plant.maintenance_planned}"
        else:
            text = _value(getattr(plant, key), kind)
        tiles.append(
            html.Div(
                className="tile",
                children=[
                    html.Div(label, className="tile-label"),
                    html.Div(text, className="tile-value"),
                ],
            )
        )
    costs = ", ".join(f"{k} {v:,.0f} €" for k, v in plant.costs.items() if k != "total")
    return html.Div(
        [
            html.Div(className="tiles", children=tiles, id="outcomes-tiles"),
            html.P(f"Cost {plant.costs['total']:,.0f} € ({costs}).", className="muted"),
        ]
    )


def render_failures(plant: Figures) -> Any:
    if not plant.failure_list:
        return html.P("No failures in the period.", className="muted")
    header = html.Tr([html.Th(h) for h in ("Machine", "Failed at", "Alert", "Lead time", "Cost")])
    rows = [
        html.Tr(
            [
                html.Td(f.machine),
                html.Td(f"{f.at:%Y-%m-%d %H:%M}"),
                html.Td(f"{f.alerted_at:%Y-%m-%d %H:%M}" if f.alerted_at else "missed"),
                html.Td(_value(f.lead_hours, "h")),
                html.Td(_value(f.cost, "eur")),
            ]
        )
        for f in sorted(plant.failure_list, key=lambda f: f.at, reverse=True)
    ]
    return html.Div(
        [
            html.H2("Failures"),
            html.Table([html.Thead(header), html.Tbody(rows)], id="outcomes-failure-table"),
        ]
    )


def render_counterfactual(cf: Counterfactual | None) -> Any:
    if cf is None:
        return html.P(
            "Fewer than two observed failures: no renewal model to compare policies with yet.",
            className="muted",
        )
    rows = [
        ("Actual (failures, maintenance, downtime)", cf.actual, None, None),
        ("Reactive: run to failure", cf.reactive.cost, cf.reactive.low, cf.reactive.high),
        (
            f"Preventive every {cf.preventive_interval_hours:,.0f} h of running",
            cf.preventive.cost,
            cf.preventive.low,
            cf.preventive.high,
        ),
    ]
    header = html.Tr([html.Th(h) for h in ("Policy", "Cost", "10th percentile", "90th percentile")])
    body = [
        html.Tr(
            [
                html.Td(name),
                html.Td(_value(c, "eur")),
                html.Td(_value(lo, "eur")),
                html.Td(_value(hi, "eur")),
            ]
        )
        for name, c, lo, hi in rows
    ]
    return html.Div(
        [
            html.H2("Against other policies"),
            html.Table([html.Thead(header), html.Tbody(body)], id="outcomes-counterfactual-table"),
            html.P(
                f"Renewal model on {cf.lives_complete} observed and {cf.lives_censored} censored"
                " lives. Assumptions: " + "; ".join(cf.assumptions) + ".",
                className="muted",
            ),
        ]
    )
