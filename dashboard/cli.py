"""`millwright` commands of the `dashboard` package.

- `millwright dashboard [--host H] [--port P] [--threads N]`: serve the dashboard with waitress.

Binding beyond localhost turns sign-in on (with ``require_login=auto``); users come from
`millwright users add NAME --role planner`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import typer

from dashboard.config import DashboardConfig
from millwright.core.commands import CliGroups, app_context


def serve_dashboard(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; 0.0.0.0 for all."),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Default: the port of public_url, else 8050."
    ),
    threads: int = typer.Option(8, "--threads", min=1, max=256, help="Waitress worker threads."),
) -> None:
    """Serve the plant dashboard (overview, machines, schedule, alerts)."""
    import waitress

    from dashboard.app import create_dashboard

    context = app_context(ctx)
    settings = context.settings
    chosen = port or urlsplit(settings.public_url).port or 8050
    app = create_dashboard(settings, context.database(), bind_host=host)
    config = context.section("dashboard", DashboardConfig)
    required = config.login_required(settings.public_url, host)
    typer.echo(
        f"dashboard on http://{host}:{chosen}{config.base_path}"
        f" (sign-in {'required' if required else 'not required: local access only'})"
    )
    try:
        waitress.serve(app.server, host=host, port=chosen, threads=threads, ident="millwright")
    finally:
        context.close()


def register(groups: CliGroups) -> None:
    """Add `millwright dashboard` to the CLI."""
    groups.root.command("dashboard")(serve_dashboard)
