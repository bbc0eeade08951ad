"""The frame around every page: navigation, the live/stale indicator, the signed-in user.

Built per request (Dash calls the layout function), so the header names the user; the
refresh interval lives here so every page ticks at the same cadence.
"""

from __future__ import annotations

from dash import dcc, html

from dashboard.config import DashboardConfig
from millwright.core.users import User

NAV = (("Overview", ""), ("Schedule", "schedule"), ("Alerts", "alerts"), ("Outcomes", "outcomes"))


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


def shell_layout(config: DashboardConfig, user: User | None, *, login_required: bool) -> html.Div:
    base = config.base_path
    return html.Div(
        className="app",
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
