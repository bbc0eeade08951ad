"""The frame around every page: navigation, view controls, the live/stale indicator, the user.

Built per request (Dash calls the layout function), so the header names the user. The view
controls (time range, refresh interval with pause, theme) write the URL's query
(`dashboard.view`), so a link or a wall screen's bookmark keeps them; ``?kiosk=1`` hides the
header and rotates pages (`assets/live.js`).
"""

from __future__ import annotations

from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.downsample import RANGES
from millwright.core.users import User

NAV = (("Overview", ""), ("Schedule", "schedule"), ("Alerts", "alerts"), ("Outcomes", "outcomes"))
REFRESH_LABELS = {5: "5 s", 10: "10 s", 30: "30 s", 60: "1 min", 300: "5 min", 0: "Paused"}


def _user_box(user: User | None, base_path: str, login_required: bool) -> html.Div:
    if user is None or (user.id == 0 and not login_required):
        return html.Div(
            className="user-box",
            children=[
                html.Span("local access", className="user-name", id="user-name"),
                html.A("sign in", href=f"{base_path}login", className="link"),
            ],
        )
    roles = ", ".join(sorted(r.value for r in user.roles))
    return html.Div(
        className="user-box",
        children=[
            html.Span(user.username, className="user-name", id="user-name"),
            html.Span(roles, className="user-roles"),
            html.Form(
                action=f"{base_path}logout",
                method="POST",
                children=html.Button("Sign out", type="submit", className="btn btn-quiet"),
            ),
        ],
    )


def view_controls(config: DashboardConfig) -> html.Div:
    """Time range (preset or from/to in plant time), refresh interval or pause, theme."""
    refresh = [{"label": REFRESH_LABELS[s], "value": s} for s in REFRESH_LABELS]
    default = int(config.refresh_s)
    if default not in REFRESH_LABELS:
        refresh.insert(0, {"label": f"{default} s", "value": default})
    return html.Div(
        className="view-controls",
        children=[
            html.Label("Range", htmlFor="range-preset", className="control-label"),
            dcc.Dropdown(
                id="range-preset",
                options=[{"label": f"last {k}", "value": k} for k in RANGES]
                + [{"label": "from … to", "value": "custom"}],
                value="24h",
                clearable=False,
                searchable=False,
                className="control-dropdown",
            ),
            dcc.Input(
                id="range-from",
                type="text",
                className="control-input range-input",
                placeholder="from YYYY-MM-DD HH:MM",
                debounce=True,
                pattern=r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}",
            ),
            dcc.Input(
                id="range-to",
                type="text",
                className="control-input range-input",
                placeholder="to YYYY-MM-DD HH:MM",
                debounce=True,
                pattern=r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}",
            ),
            html.Button("Apply", id="range-apply", n_clicks=0, className="btn btn-small"),
            html.Label("Refresh", htmlFor="refresh-choice", className="control-label"),
            dcc.Dropdown(
                id="refresh-choice",
                options=refresh,
                value=default,
                clearable=False,
                searchable=False,
                className="control-dropdown",
            ),
            dcc.Checklist(
                id="theme-choice",
                options=[{"label": "High-performance", "value": "hp"}],
                value=[],
                className="control-check",
            ),
        ],
    )


def shell_layout(config: DashboardConfig, user: User | None, *, login_required: bool) -> html.Div:
    base = config.base_path
    return html.Div(
        className="app",
        id="app-root",
        children=[
            dcc.Location(id="url", refresh="callback-nav"),
            dcc.Interval(id="tick", interval=int(config.refresh_s * 1000)),
            html.Header(
                className="topbar",
                children=[
                    html.Span("MILLWRIGHT", className="brand"),
                    html.Nav(
                        className="nav",
                        children=[
                            dcc.Link(
                                label,
                                href=f"{base}{path}",
                                className="nav-link",
                                id=f"nav-{label.lower()}",
                            )
                            for label, path in NAV
                        ],
                    ),
                    view_controls(config),
                    html.Span(id="plant-clock", className="plant-clock"),
                    html.Span(
                        "connecting…",
                        id="live-status",
                        className="live-status",
                        **{"data-stale-ms": str(int(config.stale_after_s * 1000))},  # type: ignore[arg-type]
                    ),
                    _user_box(user, base, login_required),
                ],
            ),
            html.Main(id="page", className="page"),
        ],
    )
