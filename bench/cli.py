"""`millwright bench …` and `millwright eval …`: every benchmark and evaluation command.

The roof: these commands may use any stage's internals. They are registered only when
``millwright bench`` or ``millwright eval`` (or ``schedule jssp``) is used, and this package
imports only with the ``bench`` extra installed (see :mod:`bench`).

- ``bench ingest``: the bulk writer against raw binary COPY.
- ``bench mqtt``, ``bench opcua``: collectors end to end through a real broker / server.
- ``bench features``, ``bench scoring``: feature backfill and scoring throughput.
- ``bench jssp``, ``bench scheduler``, ``schedule jssp``, ``eval plant``: see
  :mod:`bench.scheduler_cli`.
- ``eval cmapss``: RUL on NASA's C-MAPSS engines.
- ``bench demo``: the demo from a fresh data directory to its first risk-driven plan.

With ``--json`` the last stdout line is one JSON object, for scripts and CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bench import scheduler_cli
from features.config import FeaturesConfig
from millwright.core.commands import CliGroups, app_context
from models.config import ModelsConfig
from models.errors import CmapssFormatError
from models.validation import RulMetrics


def bench_mqtt(
    ctx: typer.Context,
    messages: Annotated[int, typer.Option(help="Single-reading messages to publish.")] = 200_000,
    batched_readings: Annotated[
        int, typer.Option(help="Readings to publish in batched JSON messages.")
    ] = 2_000_000,
    batch: Annotated[int, typer.Option(help="Readings per batched message.")] = 500,
    publishers: Annotated[int, typer.Option(help="Concurrent publisher processes.")] = 4,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """End-to-end MQTT → database throughput through the real broker, with loss counted."""
    from bench.ingest_mqtt import run_mqtt_benchmark

    context = app_context(ctx)
    settings = context.settings
    result = run_mqtt_benchmark(
        context.database(),
        mqtt_url=settings.mqtt_url or "mqtt://127.0.0.1:1883",
        messages=messages,
        batched_readings=batched_readings,
        batch=batch,
        publishers=publishers,
        data_dir=settings.data_dir,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    for name in ("single", "batched"):
        r = result[name]
        typer.echo(
            f"{name:>8}: {r['messages_per_s']:>10,.0f} msg/s {r['readings_per_s']:>10,.0f}"
            f" readings/s  lost {r['lost']}  CPU {r['cpu_ms_per_1000_messages']:.1f} ms/1k msgs"
        )
    typer.echo(f"  writer: {result['writer']['writer_rows_per_s']:>10,.0f} rows/s (bulk writer)")


def bench_opcua(
    ctx: typer.Context,
    nodes: Annotated[int, typer.Option(help="Variables on the server.")] = 500,
    rate_hz: Annotated[float, typer.Option("--rate", help="Changes per node per second.")] = 10.0,
    seconds: Annotated[float, typer.Option(help="Measured duration.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One server (own process) with NODES variables changing at RATE Hz, collected into
    the database through the shared pipeline: values/s stored, lost, collector CPU share,
    against the bulk writer's raw rate in the same run."""
    from bench.opcua import run_opcua_benchmark

    result = run_opcua_benchmark(
        app_context(ctx).database(), nodes=nodes, rate_hz=rate_hz, seconds=seconds
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"offered:         {result['offered_values_per_s']:>12,.0f} values/s")
    typer.echo(f"stored:          {result['stored_values_per_s']:>12,.0f} values/s")
    typer.echo(f"published:       {result['published']:>12,d} values")
    typer.echo(f"stored:          {result['stored']:>12,d} values")
    typer.echo(f"lost:            {result['lost']:>12,d} values")
    typer.echo(f"server overflow: {result['queue_overflows']:>12,d}")
    typer.echo(f"collector CPU:   {result['collector_cpu_share']:>12.1%} of one core")
    typer.echo(f"writer raw rate: {result['writer_rows_per_s']:>12,.0f} rows/s")


def bench_features(
    ctx: typer.Context,
    machines: Annotated[int, typer.Option(min=1, help="Machines.")] = 50,
    sensors: Annotated[int, typer.Option(min=1, help="Sensors per machine.")] = 20,
    days: Annotated[float, typer.Option(min=1.5, help="Days of 1-minute readings.")] = 7.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object last.")] = False,
) -> None:
    """Feature backfill and incremental run against only reading the same rows."""
    from bench.features import run_features_benchmark, summary_lines

    context = app_context(ctx)
    context.database()  # the embedded server starts here when no URL is configured
    url = context.settings.database_url or context.database().url
    result = run_features_benchmark(
        url,
        context.section("features", FeaturesConfig),
        machines=machines,
        sensors=sensors,
        days=days,
        echo=lambda line: typer.echo(line, err=True),
    )
    for line in summary_lines(result):
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(result, default=str))


def bench_scoring(
    ctx: typer.Context,
    machines: Annotated[int, typer.Option(min=1, help="Machines to score.")] = 1000,
    sensors: Annotated[int, typer.Option(min=1, help="Sensors per machine.")] = 20,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs (median reported).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Last line: one JSON object.")] = False,
) -> None:
    """Scoring the latest state of N machines, end to end, against bare LightGBM predict."""
    from bench.scoring import run_scoring_benchmark, summary_lines

    context = app_context(ctx)
    url = context.database().url
    result = run_scoring_benchmark(
        url,
        context.section("models", ModelsConfig),
        machines=machines,
        sensors=sensors,
        repeats=repeats,
        echo=lambda line: typer.echo(line, err=True),
    )
    for line in summary_lines(result):
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(result))


def eval_cmapss(
    train: Path = typer.Option(..., "--train", help="C-MAPSS training file (train_FD00x.txt)."),
    test: Path | None = typer.Option(None, "--test", help="Test file (test_FD00x.txt)."),
    rul: Path | None = typer.Option(None, "--rul", help="True RUL per test engine (RUL_FD00x)."),
    cv: int = typer.Option(
        0, "--cv", help="Instead of --test/--rul: K-fold CV over training engines (K >= 2)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for folds, truncation and LightGBM."),
    threads: int = typer.Option(1, "--threads", min=1, help="LightGBM threads."),
    trees: int | None = typer.Option(
        None, "--trees", min=1, help="Boosting rounds (default: the tuned C-MAPSS setting)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Last line: one JSON object."),
) -> None:
    """Train RUL on C-MAPSS engines; print RMSE and the PHM08 score at each engine's end."""
    from bench import cmapss_eval
    from bench.cmapss import read_cmapss, read_rul

    official = test is not None and rul is not None
    if official == (cv >= 2) or (test is None) != (rul is None):
        raise typer.BadParameter("give either both --test and --rul, or --cv K with K >= 2")
    try:
        train_frame = read_cmapss(train)
        if official:
            assert test is not None and rul is not None
            test_frame = read_cmapss(test)
            truth = read_rul(rul)
            engines = test_frame["unit"].nunique()
            if engines != len(truth):
                raise CmapssFormatError(f"{rul}: {len(truth)} RUL values for {engines} engines")
    except CmapssFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    def progress(fold: int, metrics: RulMetrics) -> None:
        typer.echo(f"fold {fold + 1}/{cv}: RMSE {metrics.rmse:.2f}", err=True)

    if official:
        typer.echo(f"training on {train_frame['unit'].nunique()} engines …", err=True)
        result = cmapss_eval.evaluate_official(
            train_frame, test_frame, truth, seed=seed, n_jobs=threads, n_estimators=trees
        )
        mode = "test"
    else:
        result = cmapss_eval.cross_validate(
            train_frame, cv, seed=seed, n_jobs=threads, n_estimators=trees, progress=progress
        )
        mode = f"cv{cv}"
    typer.echo(
        f"{mode}: {result.engines} engines  RMSE {result.rmse:.2f}  MAE {result.mae:.2f}  "
        f"PHM08 {result.phm08_score:.1f}  training {result.train_seconds:.1f} s"
    )
    if as_json:
        payload = {
            "rmse": round(result.rmse, 4),
            "phm08_score": round(result.phm08_score, 4),
            "train_seconds": round(result.train_seconds, 3),
            "mae": round(result.mae, 4),
            "engines": result.engines,
            "mode": mode,
            "fold_rmse": [round(m.rmse, 4) for m in result.folds],
        }
        typer.echo(json.dumps(payload))


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


def bench_demo(
    ctx: typer.Context,
    machines: Annotated[int, typer.Option(min=7, max=200)] = 12,
    history_days: Annotated[float, typer.Option(min=2, max=365)] = 10.0,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 300.0,
    verbose_demo: Annotated[
        bool, typer.Option("--show-demo", help="Show the demo's own output on stderr.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The demo from a fresh data directory to its first risk-driven plan: seconds to URLs,
    first scores and first plan, beside the training step alone."""
    from bench.demo import run_demo_benchmark

    result = run_demo_benchmark(
        app_context(ctx).settings,  # type: ignore[arg-type]
        machines=machines,
        history_days=history_days,
        timeout_s=timeout,
        quiet=not verbose_demo,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key in (
        "seconds_to_urls", "seconds_to_first_scores", "seconds_to_risk_plan",
        "seconds_training_in_demo", "seconds_training_alone",
    ):  # fmt: skip
        typer.echo(f"{key.removeprefix('seconds_').replace('_', ' '):<24}{result[key]} s")
    typer.echo(f"cpus {result['cpus']}, load average at start {result['load_average_at_start']}")


def register(groups: CliGroups) -> None:
    """Add every benchmark and evaluation command to the CLI."""
    groups.bench.command("demo")(bench_demo)
    groups.bench.command("ingest")(bench_ingest)
    groups.bench.command("mqtt")(bench_mqtt)
    groups.bench.command("opcua")(bench_opcua)
    groups.bench.command("features")(bench_features)
    groups.bench.command("scoring")(bench_scoring)
    groups.eval.command("cmapss")(eval_cmapss)
    scheduler_cli.register(groups)
