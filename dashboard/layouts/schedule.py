"""Schedule page: the current plan as a Gantt per machine, late jobs, and the reschedule button.

The button is disabled for users without the planner role, but that is only a hint: the
callback checks the role again on the server (`dashboard.callbacks.schedule`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.layouts.common import fmt_ts

GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}


def layout(can_reschedule: bool) -> html.Div:
    title = "" if can_reschedule else "Requesting a reschedule needs the planner role"
    return html.Div(
        className="schedule",
        children=[
            html.Div(
                className="page-head",
                children=[
                    html.H1("Schedule", className="page-title"),
                    html.Button(
                        "Request reschedule",
                        id="reschedule-button",
                        n_clicks=0,
                        className="btn btn-primary",
                        disabled=not can_reschedule,
                        title=title,
                    ),
                    html.Span(id="reschedule-message", className="message", role="status"),
                ],
            ),
            html.Div(id="schedule-info", className="summary"),
            html.Section(
                className="panel",
                children=[
                    dcc.Graph(id="schedule-gantt", config=GRAPH_CONFIG),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.H2("Late jobs", className="panel-title"),
                    html.Div(id="schedule-late"),
                ],
            ),
            html.Div(id="schedule-stamp"),
        ],
    )


def render_info(
    current: dict[str, Any] | None, pending: dict[str, Any] | None, assignments: pd.DataFrame
) -> list[Any]:
    def item(value: str, label: str, cls: str = "") -> html.Div:
        return html.Div(
            className=f"summary-item {cls}",
            children=[
                html.Span(value, className="summary-value"),
                html.Span(label, className="summary-label"),
            ],
        )

    items: list[Any] = []
    if current is None:
        items.append(item("none", "current plan", "sev-warning"))
    else:
        late_jobs = assignments.loc[assignments["late"], "job"].nunique() if len(assignments) else 0
        maintenance = int((assignments["kind"] == "maintenance").sum()) if len(assignments) else 0
        objective = current.get("objective")
        items += [
            item(f"#{current['id']}", "current plan"),
            item(str(current.get("solver_status") or current.get("state")), "solver"),
            item("—" if objective is None else f"{float(objective):,.0f}", "objective"),
            item(fmt_ts(current.get("finished_at")), "solved"),
            item(str(maintenance), "maintenance tasks", "sev-warning" if maintenance else ""),
            item(str(late_jobs), "late jobs", "sev-critical" if late_jobs else ""),
        ]
    if pending is not None:
        items.append(item(f"#{pending['id']} {pending['state']}", "reschedule", "sev-info"))
    return items


def render_late_jobs(assignments: pd.DataFrame) -> Any:
    if assignments.empty or not assignments["late"].any():
        return html.P("No late jobs in the current plan.", className="muted")
    late = (
        assignments[assignments["late"]]
        .groupby("job", as_index=False)
        .agg(
            due_at=("due_at", "first"),
            job_end=("job_end", "first"),
            lateness_min=("lateness_min", "max"),
            weight=("weight", "first"),
        )
        .sort_values("lateness_min", ascending=False)
    )
    header = html.Tr([html.Th(h) for h in ("Job", "Due", "Planned end", "Late by", "Weight")])
    rows = [
        html.Tr(
            className="row-late",
            children=[
                html.Td(str(r.job)),
                html.Td(fmt_ts(r.due_at)),
                html.Td(fmt_ts(r.job_end)),
                html.Td(f"{r.lateness_min:.0f} min"),
                html.Td(f"{r.weight:g}"),
            ],
        )
        for r in late.itertuples(index=False)
    ]
    return html.Table(
        className="table", id="late-jobs-table", children=[html.Thead(header), html.Tbody(rows)]
    )
