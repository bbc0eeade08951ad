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
- ``bench demo`` lives with the demo (:mod:`millwright.app.demo.bench_cli`).

With ``--json`` the last stdout line is one JSON object, for scripts and CI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from bench import scheduler_cli
from features.config import FeaturesConfig
from millwright.core.commands import CliGroups, app_context
from models.config import ModelsConfig
from models.errors import CmapssFormatError


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
    for name in ("single", "batched"):
        r = result["bare_paho"][name]
        typer.echo(
            f"{'bare ' + name:>14}: {r['messages_per_s']:>10,.0f} msg/s"
            f" {r['readings_per_s']:>10,.0f} readings/s  (paho subscriber that only counts)"
        )
    typer.echo(f"  writer: {result['writer']['writer_rows_per_s']:>10,.0f} rows/s (bulk writer)")


def bench_opcua(
    ctx: typer.Context,
    nodes: Annotated[int, typer.Option(help="Variables on the server.")] = 500,
    rate_hz: Annotated[float, typer.Option("--rate", help="Changes per node per second.")] = 10.0,
    seconds: Annotated[float, typer.Option(help="Measured duration.")] = 60.0,
    servers: Annotated[
        int | None, typer.Option(min=1, help="Server processes (default: one per 1,000 nodes).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Server processes with NODES variables changing at RATE Hz between them, collected by
    one collector into the database through the shared pipeline: values/s stored, lost,
    collector CPU share, against the bulk writer's raw rate in the same run."""
    from bench.opcua import run_opcua_benchmark

    result = run_opcua_benchmark(
        app_context(ctx).database(),
        nodes=nodes,
        rate_hz=rate_hz,
        seconds=seconds,
        servers=servers,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"offered:         {result['offered_values_per_s']:>12,.0f} values/s")
    typer.echo(f"stored:          {result['stored_values_per_s']:>12,.0f} values/s")
    typer.echo(f"published:       {result['published']:>12,d} values")
    typer.echo(f"stored:          {result['stored']:>12,d} values")
    typer.echo(f"lost:            {result['lost']:>12,d} values")
    typer.echo(
        f"  of which:       {result['server_discarded']:>12,d} discarded by the servers' queues,"
        f" {result['lost_after_receipt']:,d} after reaching the collector"
    )
    typer.echo(f"server overflow: {result['queue_overflows']:>12,d} (Overflow bits seen)")
    typer.echo(
        f"collector CPU:   {result['collector_cpu_share']:>12.1%} of one core"
        f" ({result['collector_cpu_s']:.1f} s, {result['collector_cpu_us_per_value']:.1f} µs/value)"
    )
    typer.echo(
        f"server CPU:      {result['server_cpu_share']:>12.1%} of one core"
        f" ({result['servers']} processes)"
    )
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
    cuts: int = typer.Option(
        1, "--cuts", min=1, help="CV: random cuts per held-out engine (each a NASA-style draw)."
    ),
    engines: str = typer.Option(
        "all", "--engines", help="CV over all engines, or one seeded half: tune or report."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for folds, cuts and LightGBM."),
    repeats: int = typer.Option(
        1,
        "--repeats",
        min=1,
        help="CV: repeat with seeds --seed, --seed + 1, … and pool the points (one draw of "
        "folds and cuts moves FD001's RMSE by more than a point).",
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="LightGBM threads."),
    trees: int | None = typer.Option(
        None, "--trees", min=1, help="Boosting rounds (default: the [models] default)."
    ),
    rul_cap: float | None = typer.Option(
        None,
        "--rul-cap",
        min=1.0,
        help="Cap RUL targets at this many cycles (default: from the training lives).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Last line: one JSON object."),
) -> None:
    """Train on C-MAPSS engines loaded as a plant, through the production features and models;
    print RUL error (NASA truth and capped), rul_low coverage and p_fail calibration."""
    from bench import cmapss_eval
    from bench.cmapss import read_cmapss, read_rul

    official = test is not None and rul is not None
    if official == (cv >= 2) or (test is None) != (rul is None):
        raise typer.BadParameter("give either both --test and --rul, or --cv K with K >= 2")
    if official and repeats > 1:
        raise typer.BadParameter("--repeats draws CV folds and cuts again: it needs --cv")
    if engines not in ("all", "tune", "report"):
        raise typer.BadParameter(f"--engines must be all, tune or report, got {engines!r}")
    try:
        train_frame = read_cmapss(train)
        if official:
            assert test is not None and rul is not None
            test_frame = read_cmapss(test)
            truth = read_rul(rul)
            count = test_frame["unit"].nunique()
            if count != len(truth):
                raise CmapssFormatError(f"{rul}: {len(truth)} RUL values for {count} engines")
    except CmapssFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    config = cmapss_eval.models_config(
        seed=seed, n_jobs=threads, n_estimators=trees, rul_cap=rul_cap
    )

    def progress(fold: int, metrics: dict[str, Any]) -> None:
        typer.echo(
            f"fold {fold + 1}/{cv * repeats}: RMSE {metrics['rmse']:.2f}  q10 coverage "
            f"{metrics['q10_coverage']:.3f}  training {metrics['train_seconds']:.1f} s "
            f"({metrics['train_cpu_seconds']:.1f} CPU s)  RUL cap {metrics['rul_cap']}",
            err=True,
        )

    if official:
        typer.echo(f"training on {train_frame['unit'].nunique()} engines …", err=True)
        result = cmapss_eval.evaluate_official(train_frame, test_frame, truth, config)
        mode = "official"
    else:
        result = cmapss_eval.cross_validate(
            train_frame,
            config,
            cv,
            cuts,
            cast(Literal["all", "tune", "report"], engines),
            repeats,
            progress=progress,
        )
        mode = f"cv{cv}" + ("" if engines == "all" else f"-{engines}")
        if repeats > 1:
            per_seed = ", ".join(f"{r:.2f}" for r in result.seed_rmse)
            typer.echo(f"RMSE by seed {seed}…{seed + repeats - 1}: {per_seed}", err=True)
    m = result.metrics
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
    typer.echo(
        f"{mode}: {result.engines} engines, {result.points} points  RMSE {m['rmse']:.2f} "
        f"(truth capped at 125: {m['rmse_capped']:.2f})  MAE {m['mae']:.2f}  "
        f"PHM08 {m['phm08_score']:.1f}  training {result.train_seconds:.1f} s "
        f"({result.train_cpu_seconds:.1f} CPU s)"
    )
    typer.echo(
        f"rul_low (nominal 0.90): coverage {m['q10_coverage']:.3f}, "
        f"{m['q10_coverage_rul_le_125']:.3f} where RUL <= 125"
    )
    typer.echo(
        f"p_fail within {config.horizon_hours:g} cycles: Brier {m['brier']:.4f} "
        f"(base rate {m['brier_base_rate']:.4f})  ROC-AUC {auc}"
    )
    for row in m["by_truth"]:
        typer.echo(
            f"  true RUL {row['bucket']}: {row['points']:>4} points, RMSE {row['rmse']:.2f}, "
            f"bias {row['bias']:+.2f}, {row['sse_share']:.0%} of the squared error, "
            f"q10 coverage {row['q10_coverage']:.3f}"
        )
    for row in m["reliability"]:
        typer.echo(
            f"  p_fail {row['bin']}: {row['rows']:>5} points, predicted "
            f"{row['mean_predicted']:.3f}, observed {row['observed_rate']:.3f}"
        )
    if as_json:
        payload = {
            key: (round(value, 4) if isinstance(value, float) else value)
            for key, value in m.items()
        }
        payload.update(
            {
                "train_seconds": round(result.train_seconds, 3),
                "train_cpu_seconds": round(result.train_cpu_seconds, 3),
                "engines": result.engines,
                "mode": mode,
                "cuts": cuts if not official else 1,
                "fold_rmse": [round(f["rmse"], 4) for f in result.folds],
                "fold_rul_cap": [f["rul_cap"] for f in result.folds],
                "seeds": list(range(seed, seed + (repeats if not official else 1))),
                "seed_rmse": [round(r, 4) for r in result.seed_rmse],
            }
        )
        typer.echo(json.dumps(payload))


def bench_ingest(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option(help="Readings to write.")] = 1_000_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Bulk writer against raw binary COPY into the same indexed table."""
    from bench.ingest_writer import run_ingest_benchmark
    from millwright.core.storage.timescale import TimescalePolicy

    context = app_context(ctx)
    result = run_ingest_benchmark(
        context.database(),
        rows=rows,
        policy=TimescalePolicy.from_settings(context.settings.storage),
    )
    typer.echo(f"writer:   {result['writer_rows_per_s']:>12,.0f} rows/s")
    typer.echo(f"raw COPY: {result['copy_rows_per_s']:>12,.0f} rows/s")
    typer.echo(f"ratio:    {result['ratio']:>12.2f}")
    typer.echo(f"re-send:  {result['resend_rows_per_s']:>12,.0f} rows/s (0 new rows written)")
    if as_json:
        typer.echo(json.dumps(result))


def bench_import(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option(help="Readings to import.")] = 1_000_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """`millwright import readings` (CSV and Parquet) against the bulk writer alone."""
    from bench.import_readings import run_import_benchmark

    result = run_import_benchmark(app_context(ctx).database(), rows=rows)
    typer.echo(f"writer alone: {result['writer_rows_per_s']:>12,.0f} rows/s")
    for kind in ("csv", "parquet"):
        typer.echo(
            f"import {kind:<7} {result[f'{kind}_rows_per_s']:>12,.0f} rows/s"
            f"  ({result[f'{kind}_ratio']:.2f} x the writer)"
        )
    if as_json:
        typer.echo(json.dumps(result))


def bench_scale(
    ctx: typer.Context,
    machines: Annotated[int, typer.Option(min=1)] = 2000,
    sensors: Annotated[int, typer.Option(min=1, max=100)] = 20,
    rate: Annotated[int, typer.Option(min=1, help="Readings per sensor per second.")] = 1,
    collectors: Annotated[str, typer.Option(help="Collector counts to run, e.g. 1,2.")] = "1,2",
    workers: Annotated[str, typer.Option(help="Worker counts to run, e.g. 1,2.")] = "1,2",
    seconds: Annotated[float, typer.Option(min=5)] = 30.0,
    publishers: Annotated[int, typer.Option(min=1)] = 2,
    db_rows: Annotated[
        int, typer.Option(min=0, help="Rows for the database ceiling (bulk writer alone); 0 skips.")
    ] = 1_000_000,
    db_writers: Annotated[
        str, typer.Option(help="Writer process counts for the database ceiling, e.g. 1,2.")
    ] = "1,2",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """N collectors and W workers on one database: rate, latency, lag, CPU per stage."""
    from bench.scale import run_scale_benchmark

    settings = app_context(ctx).settings
    if settings.database_url is None:
        typer.echo("bench scale needs MILLWRIGHT_DATABASE_URL (a server for scratch databases).")
        raise typer.Exit(2)
    try:
        counts_c = [int(x) for x in collectors.split(",")]
        counts_w = [int(x) for x in workers.split(",")]
        counts_db = [int(x) for x in db_writers.split(",")]
    except ValueError:
        typer.echo(
            "--collectors, --workers and --db-writers take comma-separated counts such as 1,2."
        )
        raise typer.Exit(2) from None
    result = run_scale_benchmark(
        settings.database_url,
        settings.mqtt_url or "mqtt://127.0.0.1:1883",
        machines=machines,
        sensors=sensors,
        rate=rate,
        collectors=counts_c,
        workers=counts_w,
        seconds=seconds,
        publishers=publishers,
    )
    typer.echo(
        f"{'N':>2} {'W':>2} {'pub/s':>8} {'stored/s':>10} {'lag':>8} {'drain s':>8} {'feat p50':>9}"
        f" {'feat p99':>9} {'risk p50':>9} {'risk p99':>9} {'f behind':>9} {'s behind':>9}"
        f" {'dropped':>8} {'dup':>4}"
    )

    def seconds_(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "-"

    for r in result["runs"]:
        typer.echo(
            f"{r['collectors']:>2} {r['workers']:>2} {r['published_per_s']:>8,}"
            f" {r['readings_per_s']:>10,} {r['lag_at_end_rows']:>8,} {r['drain_seconds']:>8.1f}"
            f" {seconds_(r['latency_to_features_p50_s']):>9}"
            f" {seconds_(r['latency_to_features_p99_s']):>9}"
            f" {seconds_(r['latency_to_risk_p50_s']):>9}"
            f" {seconds_(r['latency_to_risk_p99_s']):>9}"
            f" {seconds_(r['features_behind_s']):>9} {seconds_(r['scores_behind_s']):>9}"
            f" {r['dropped']:>8} {r['duplicated']:>4}"
        )
    stages = list(result["runs"][0]["cpu_s_per_1000_readings"]) if result["runs"] else []
    typer.echo("CPU seconds per 1,000 stored readings, by stage:")
    typer.echo(f"{'N':>2} {'W':>2} " + " ".join(f"{s:>9}" for s in stages))
    for r in result["runs"]:
        cpu = r["cpu_s_per_1000_readings"]
        typer.echo(
            f"{r['collectors']:>2} {r['workers']:>2} " + " ".join(f"{cpu[s]:>9.4f}" for s in stages)
        )
    if db_rows:
        from bench.db_ceiling import run_db_ceiling

        result["database_ceiling"] = run_db_ceiling(
            settings.database_url, rows=db_rows, writers=counts_db
        )
        typer.echo(f"database ceiling: the bulk writer alone into readings, {db_rows:,} rows:")
        typer.echo(
            f"{'writers':>7} {'rows/s':>10} {'cpu/1k writers':>15} {'cpu/1k database':>16}"
            f" {'rows/s per db core':>19}"
        )
        for c in result["database_ceiling"]:
            cpu = c["cpu_s_per_1000_rows"]
            typer.echo(
                f"{c['writers']:>7} {c['rows_per_s']:>10,} {cpu['writers']:>15.4f}"
                f" {cpu['database']:>16.4f} {c['rows_per_s_per_database_core'] or 0:>19,}"
            )
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    typer.echo(f"load average at the end: {result['load_average']}")
    if as_json:
        typer.echo(json.dumps(result))


def register(groups: CliGroups) -> None:
    """Add every benchmark and evaluation command to the CLI."""
    groups.bench.command("ingest")(bench_ingest)
    groups.bench.command("import")(bench_import)
    groups.bench.command("mqtt")(bench_mqtt)
    groups.bench.command("opcua")(bench_opcua)
    groups.bench.command("features")(bench_features)
    groups.bench.command("scoring")(bench_scoring)
    groups.bench.command("scale")(bench_scale)
    groups.bench.command("edge")(bench_edge)
    groups.eval.command("cmapss")(eval_cmapss)
    scheduler_cli.register(groups)


def bench_edge(
    ctx: typer.Context,
    machines: Annotated[int, typer.Option(min=1, help="Machines at the edge.")] = 100,
    sensors: Annotated[int, typer.Option(min=1, help="Sensors per machine.")] = 20,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs (median reported).")] = 5,
    sample_seconds: Annotated[
        int, typer.Option(min=1, help="Seconds between readings of a sensor.")
    ] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Last line: one JSON object.")] = False,
) -> None:
    """The edge's resident memory and scoring latency per machine beside central scoring."""
    from bench.edge import run_edge_benchmark

    context = app_context(ctx)
    result = run_edge_benchmark(
        context.section("models", ModelsConfig),
        machines=machines,
        sensors=sensors,
        repeats=repeats,
        sample_seconds=sample_seconds,
    )
    e, c = result["edge"], result["central"]
    typer.echo(
        f"edge: {e['machines']} machines x {e['sensors']} sensors, {e['readings_in_memory']:,}"
        f" readings held: RSS {e['rss_mb']} MB (peak {e['peak_rss_mb']}; with the webhook"
        f" client {e['rss_with_webhook_client_mb']}, peak {e['peak_rss_with_webhook_client_mb']};"
        f" target {e['target_mb']:.0f}), {e['per_machine_ms']} ms per machine (features + score)"
    )
    typer.echo(f"central: {c['per_machine_ms']} ms per machine ({c['path']})")
    if as_json:
        typer.echo(json.dumps(result))
