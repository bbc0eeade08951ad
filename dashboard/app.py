"""The dashboard factory: settings and a database in, a self-contained Dash app out.

`create_dashboard` builds its own Flask server (sessions, sign-in, the request guard) and its
own Dash app on it, with no module-level state, so it can be served alone
(`millwright dashboard`), mounted beside the API, or created many times in one test process.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dash
import flask
import pandas as pd

from dashboard import auth, router
from dashboard.callbacks import alerts, machine, overview, schedule, shell
from dashboard.callbacks import outcomes as outcomes_page
from dashboard.config import DashboardConfig
from dashboard.context import DashboardContext
from dashboard.kiosk import install_kiosk_sign_in
from dashboard.layouts import alerts as alerts_layout
from dashboard.layouts import machine as machine_layout
from dashboard.layouts import outcomes as outcomes_layout
from dashboard.layouts import overview as overview_layout
from dashboard.layouts import schedule as schedule_layout
from dashboard.layouts.shell import shell_layout
from millwright.core.settings import CoreSettings
from millwright.core.storage.database import Database
from millwright.core.users import UserStore

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"
# plotly.js with only the trace types the dashboard draws (scatter, bar; pie comes along): a
# quarter of the full bundle's 4.8 MB, so a first visit to a chart page compiles a quarter of
# the code. The npm package `plotly.js-basic-dist-min` at the version plotly.py bundles
# (`plotly.offline.get_plotlyjs_version()`; a test checks they agree). Served in place of the
# full bundle, see `_serve_partial_plotly`.
PLOTLY_BUNDLE = "plotly-basic.min.js"
PLOTLY_TRACE_TYPES = frozenset({"scatter", "bar", "pie"})


def create_dashboard(
    settings: CoreSettings, database: Database, *, bind_host: str | None = None
) -> dash.Dash:
    """Build the dashboard. ``bind_host`` (when known) lets ``require_login=auto`` tell
    whether the app is reachable beyond this machine; `app.server` is the WSGI app to serve."""
    config = settings.section("dashboard", DashboardConfig)
    login_required = config.login_required(settings.public_url, bind_host)
    server = flask.Flask("dashboard")
    if config.secret_key is not None:
        server.secret_key = config.secret_key.get_secret_value()
    else:
        server.secret_key = secrets.token_urlsafe(32)
        if login_required:
            log.warning(
                "dashboard.secret_key is not set: using a random key, so sign-ins end when the"
                " process restarts; set MILLWRIGHT_DASHBOARD__SECRET_KEY in production"
            )
    install_kiosk_sign_in(server, UserStore(database))
    auth.install_auth(
        server,
        UserStore(database),
        required=login_required,
        base_path=config.base_path,
        secure=urlsplit(settings.public_url).scheme == "https",
        sessions=config.session_policy(),
        throttle=config.throttle_policy(),
    )
    app = dash.Dash(
        "dashboard",
        server=server,  # type: ignore[arg-type]  # (dash stubs omit Flask)
        url_base_pathname=config.base_path,
        assets_folder=str(ASSETS),
        title="Millwright",
        update_title=None,  # type: ignore[arg-type]  # None: no "Updating..." title
        suppress_callback_exceptions=True,
        serve_locally=True,
        assets_ignore=re.escape(PLOTLY_BUNDLE),  # loaded with the first chart, not every page
    )
    _serve_partial_plotly(server, config.base_path)

    def layout() -> object:
        user = auth.request_user() if flask.has_request_context() else None
        return shell_layout(config, user, login_required=login_required)

    app.layout = layout
    # Every page's components, so Dash can check callbacks against ids the router inserts.
    app.validation_layout = dash.html.Div(  # type: ignore[assignment]
        [
            shell_layout(config, None, login_required=login_required),
            overview_layout.layout(),
            schedule_layout.layout(can_reschedule=False),
            alerts_layout.layout(),
            outcomes_layout.layout(),
            _machine_validation_layout(),
        ]
    )
    context = DashboardContext.build(settings, database)
    for module in (router, shell, overview, machine, schedule, alerts, outcomes_page):
        module.register(app, context)
    log.info(
        "dashboard created (sign-in %s, refresh %.0f s)",
        "required" if login_required else "not required",
        config.refresh_s,
    )
    return app


def _serve_partial_plotly(server: flask.Flask, base_path: str) -> None:
    """Answer the URL dcc.Graph loads plotly.js from with the partial bundle.

    dcc.Graph fetches plotly.js the first time a chart mounts, from a fixed URL under
    ``_dash-component-suites``; a static rule for that exact path takes precedence over Dash's
    pattern rule, so the charts get the small bundle and pages without charts load none.
    Revalidated by ETag like Dash's own copy, so a plotly upgrade is never served stale.
    """

    def plotly_js() -> flask.Response:
        response = flask.send_from_directory(
            ASSETS, PLOTLY_BUNDLE, mimetype="application/javascript", max_age=0
        )
        response.cache_control.no_cache = True
        return response

    server.add_url_rule(
        f"{base_path}_dash-component-suites/plotly/package_data/plotly.min.js",
        "plotly_partial_bundle",
        plotly_js,
    )


def _machine_validation_layout() -> dash.html.Div:
    sample = {"id": 0, "name": "-", "line": "", "machine_class": ""}
    return machine_layout.layout(sample, pd.DataFrame(columns=["id", "name", "unit"]))
