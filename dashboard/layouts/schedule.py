"""Schedule page: the plan's status, the Gantt of every machine, the order a click opens,
late orders, and the reschedule button.

The button is disabled for users without the planner role, but that is only a hint: the
callback checks the role again on the server (`dashboard.callbacks.schedule`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.layouts.common import fmt_ts, when
from dashboard.words import fmt_duration, reason_words
from millwright.core.clock import PlantClock

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
            html.Div(id="schedule-status", className="plan-status"),
            html.Div(id="schedule-info", className="summary"),
            html.Section(
                className="panel",
                children=[
                    dcc.Store(id="schedule-zoom", data={}),
                    dcc.Graph(id="schedule-gantt", config=GRAPH_CONFIG),
                ],
            ),
            html.Div(
                className="grid-2",
                children=[
                    html.Section(
                        className="panel",
                        children=[
                            html.H2("Order", className="panel-title"),
                            html.Div(
                                "Click a bar to see its order.",
                                id="schedule-order",
                                className="muted",
                            ),
                        ],
                    ),
                    html.Section(
                        className="panel",
                        children=[
                            html.H2("Late orders", className="panel-title"),
                            html.Div(id="schedule-late"),
                        ],
                    ),
                ],
            ),
            html.Div(id="schedule-stamp"),
        ],
    )


def plan_status(
    current: dict[str, Any] | None, latest: dict[str, Any] | None
) -> tuple[str, str, str]:
    """(level ok|degraded|failed|none, headline, reason) of the plan the page shows.

    Reads what the scheduler stores: the solver status, the summary's ``status`` and
    ``reason`` (degraded, e.g. a dispatch fallback) and a failed solve's ``error``; a newer
    failed solve is reported even though the older plan stays current.
    """
    if (
        latest is not None
        and latest.get("state") == "failed"
        and (current is None or latest["id"] != current["id"])
    ):
        reason = str(latest.get("error") or "no reason recorded")
        kept = f"; plan #{current['id']} stays in force" if current is not None else ""
        return "failed", f"Latest solve #{latest['id']} failed{kept}", reason
    if current is None:
        return "none", "No plan yet", "Request a reschedule to create one."
    raw = current.get("summary")
    summary: dict[str, Any] = raw if isinstance(raw, dict) else {}
    solver = str(current.get("solver_status") or current.get("state") or "")
    status = str(summary.get("status") or "").lower()
    reason = str(summary.get("reason") or current.get("error") or "")
    degraded = status == "degraded" or "dispatch" in solver.lower() or bool(
        summary.get("degraded"))  # fmt: skip
    if current.get("state") == "failed" or status == "failed":
        return "failed", f"Plan #{current['id']} failed", reason or "no reason recorded"
    if degraded:
        return "degraded", f"Plan #{current['id']} is degraded ({solver})", reason or (
            "the solver's fallback plan")  # fmt: skip
    explanations = summary.get("explanations") or []
    return "ok", f"Plan #{current['id']}: {solver or 'solved'}", "; ".join(map(str, explanations))


def render_status(level: str, headline: str, reason: str) -> list[Any]:
    return [
        html.Span(
            level.upper() if level != "ok" else "OK",
            className=f"badge plan-{level}",
            id="plan-status-level",
        ),
        html.Span(headline, className="plan-headline"),
        html.Span(reason, className="muted plan-reason", id="plan-status-reason"),
    ]


def render_info(
    current: dict[str, Any] | None,
    pending: dict[str, Any] | None,
    assignments: pd.DataFrame,
    clock: PlantClock | None = None,
    moved: int | None = None,
    previous_id: int | None = None,
) -> list[Any]:
    def item(value: Any, label: str, cls: str = "", ident: str | None = None) -> html.Div:
        return html.Div(
            className=f"summary-item {cls}",
            id=ident or f"info-{label.replace(' ', '-')}",
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
            item("—" if objective is None else f"{float(objective):,.0f}", "objective"),
            item(when(current.get("finished_at"), clock), "solved"),
            item(str(maintenance), "maintenance tasks", "sev-warning" if maintenance else ""),
            item(str(late_jobs), "late orders", "sev-critical" if late_jobs else ""),
        ]
        if moved is not None and previous_id is not None:
            items.append(item(str(moved), f"moved since plan #{previous_id}",
                              "sev-info" if moved else "", "info-moved"))  # fmt: skip
    if pending is not None:
        items.append(item(f"#{pending['id']} {pending['state']}", "reschedule", "sev-info"))
    return items


def render_late_jobs(assignments: pd.DataFrame, clock: PlantClock | None = None) -> Any:
    if assignments.empty or not assignments["late"].any():
        return html.P("No late orders in the current plan.", className="muted")
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
    header = html.Tr([html.Th(h) for h in ("Order", "Due", "Planned end", "Late by", "Weight")])
    rows = [
        html.Tr(
            className="row-late",
            children=[
                html.Td(str(r.job)),
                html.Td(when(r.due_at, clock)),
                html.Td(when(r.job_end, clock)),
                html.Td(fmt_duration(r.lateness_min * 60)),
                html.Td(f"{r.weight:g}"),
            ],
        )
        for r in late.itertuples(index=False)
    ]
    return html.Table(
        className="table", id="late-jobs-table", children=[html.Thead(header), html.Tbody(rows)]
    )


def render_order(detail: pd.DataFrame, clock: PlantClock | None, moved: set[str]) -> Any:
    """One order: due, planned end, lateness, and each step with machine, times and why."""
    if detail.empty:
        return html.P("That order is no longer in the database.", className="muted")
    first = detail.iloc[0]
    planned = pd.to_datetime(detail["end_at"], utc=True).max()
    due = pd.Timestamp(first["due_at"])
    late = (planned - due).total_seconds() if not pd.isna(planned) else None
    verdict = (
        f"late by {fmt_duration(late)}" if late is not None and late > 0
        else "on time" if late is not None else "not planned"
    )  # fmt: skip
    rows = []
    for r in detail.itertuples(index=False):
        rows.append(
            html.Tr(
                className="row-moved" if f"{r.job}/{r.seq}" in moved else "",
                children=[
                    html.Td(str(r.seq)),
                    html.Td(str(r.operation or "")),
                    html.Td(str(r.machine or "—")),
                    html.Td(when(r.start_at, clock) if not pd.isna(r.start_at) else "—"),
                    html.Td(when(r.end_at, clock) if not pd.isna(r.end_at) else "—"),
                    html.Td(reason_words(r.reason) or "—", className="why"),
                ],
            )
        )
    return html.Div(
        id="order-detail",
        children=[
            html.H3(f"Order {first['job']}", className="order-title", id="order-title"),
            html.P(
                [
                    "Due ",
                    when(first["due_at"], clock),
                    " · planned end ",
                    fmt_ts(planned, clock) if not pd.isna(planned) else "—",
                    f" · {verdict} · weight {float(first['weight']):g} · {first['job_status']}",
                ],
                id="order-summary",
            ),
            html.Table(
                className="table table-compact",
                id="order-steps",
                children=[
                    html.Thead(
                        html.Tr(
                            [
                                html.Th(h)
                                for h in (
                                    "Step",
                                    "Operation",
                                    "Machine",
                                    "Start",
                                    "End",
                                    "Why it is there",
                                )
                            ]
                        )
                    ),
                    html.Tbody(rows),
                ],
            ),
        ],
    )
