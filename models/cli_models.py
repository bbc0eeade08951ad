"""`millwright train`, `millwright models list|show|promote`, `millwright score`,
`millwright bench scoring`: thin commands over training, the registry and scoring."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from features import FeaturesConfig
from millwright.core.commands import app_context
from models.config import ModelsConfig
from models.errors import ModelsError

models_app = typer.Typer(help="The model registry: list, show and promote models.")


def _utc(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected ISO 8601, got {text!r}", param_hint=option) from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


def _metrics_line(metrics: dict[str, Any]) -> str:
    parts = []
    clf, rul = metrics.get("classifier"), metrics.get("rul")
    if clf:
        parts.append(f"ROC-AUC {clf['roc_auc']:.3f} PR-AUC {clf['pr_auc']:.3f}")
        base = clf.get("brier_base_rate")
        base_text = f" (base rate {base:.4f})" if base is not None else ""
        parts.append(f"Brier {clf['brier']:.4f}{base_text}")
    if rul:
        parts.append(f"RMSE {rul['rmse']:.1f} h")
        if rul.get("coverage") is not None:
            nominal = rul.get("nominal_coverage")
            target = f" (nominal {nominal:.2f})" if nominal is not None else ""
            below = rul.get("coverage_below_cap")
            below_text = f", {below:.3f} below the cap" if below is not None else ""
            parts.append(f"rul_low coverage {rul['coverage']:.3f}{below_text}{target}")
    if metrics.get("validation_machines") is not None:
        parts.append(f"on {metrics['validation_machines']} held-out machines")
    return "  ".join(parts) or "no validation metrics"


def train_command(
    ctx: typer.Context,
    start: Annotated[str | None, typer.Option(help="First feature instant (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option(help="Last instant; default: plant clock.")] = None,
    feature_version: Annotated[
        str | None, typer.Option(help="Feature version; default: the configured definition.")
    ] = None,
    promote: Annotated[bool, typer.Option(help="Promote if it beats the active model.")] = False,
    force: Annotated[bool, typer.Option(help="With --promote: promote regardless.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Last line: one JSON object.")] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Dask scheduler address: read and boost on that cluster with lightgbm.dask"
            " (default: models.dask_scheduler; unset: in this process).",
        ),
    ] = None,
) -> None:
    """Train a candidate on stored features and labels; print its validation metrics."""
    from rich.console import Console

    from features import resolve_definition
    from models import registry
    from models.training import train_model

    context = app_context(ctx)
    database = context.database()
    version = (
        feature_version
        or resolve_definition(database, context.section("features", FeaturesConfig)).version
    )
    console = Console(stderr=True)
    try:
        with console.status("training ...") as status:

            def progress(message: str) -> None:
                console.log(message)
                status.update(message)

            scheduler = dask or context.section("models", ModelsConfig).dask_scheduler
            train: Any = train_model
            if scheduler:
                from functools import partial

                from models.dask_training import train_model_dask

                train = partial(train_model_dask, address=scheduler)
            result = train(
                database,
                context.section("models", ModelsConfig),
                feature_version=version,
                start=_utc(start, "--start"),
                end=_utc(end, "--end"),
                progress=progress,
            )
        record = registry.save_candidate(database, result)
        decision = None
        if promote:
            decision = registry.promote(
                database,
                record.version,
                force=force,
                gates=registry.gates_of(context.section("models", ModelsConfig)),
            )
    except ModelsError as exc:
        raise _fail(exc) from None
    typer.echo(f"{record.version}  {_metrics_line(result.metrics)}")
    if decision is not None:
        verdict = "promoted" if decision.promoted else "not promoted"
        typer.echo(f"{verdict}: {decision.reason}")
    if as_json:
        payload = {"version": record.version, "metrics": result.metrics}
        if decision is not None:
            payload["promotion"] = decision.as_dict()
        typer.echo(json.dumps(payload))


@models_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every registered model with its status and validation metrics."""
    from models.registry import list_models

    records = list_models(app_context(ctx).database())
    if not records:
        typer.echo("no models yet; run `millwright train`")
    for r in records:
        typer.echo(
            f"{r.version}  {r.status.value:<9}  {r.feature_version}  "
            f"{r.created_at:%Y-%m-%d %H:%M}  {_metrics_line(r.metrics)}"
        )


@models_app.command("show")
def show_command(ctx: typer.Context, version: str) -> None:
    """A model's status, data range, feature version, parameters, metrics and latest drift."""
    from models.registry import get_record, latest_drift

    database = app_context(ctx).database()
    try:
        r = get_record(database, version)
    except ModelsError as exc:
        raise _fail(exc) from None
    typer.echo(f"version          {r.version} ({r.status.value})")
    typer.echo(f"created          {r.created_at.isoformat()}")
    if r.promoted_at:
        typer.echo(f"promoted         {r.promoted_at.isoformat()}")
    typer.echo(f"trained on       {r.trained_from} .. {r.trained_to}")
    typer.echo(f"feature version  {r.feature_version}")
    typer.echo("params           " + json.dumps(r.params, indent=2).replace("\n", "\n  "))
    typer.echo("validation       " + _metrics_line(r.metrics))
    for row in r.metrics.get("calibration", []):
        typer.echo(
            f"  p_fail {row['lower']:.1f}-{row['upper']:.1f}: {row['rows']:>7,} rows, "
            f"predicted {row['mean_predicted']:.3f}, observed {row['observed_rate']:.3f}"
        )
    typer.echo("metrics          " + json.dumps(r.metrics, indent=2).replace("\n", "\n  "))
    drift = latest_drift(database, version)
    if drift is None:
        typer.echo("drift            not scored yet")
        return
    ts, doc = drift
    typer.echo(f"drift at {ts.isoformat()}: max PSI {doc.get('max_psi')}")
    for item in doc.get("top", []):
        typer.echo(f"  {item['feature']:<40} PSI {item['psi']:.4f}")


@models_app.command("promote")
def promote_command(
    ctx: typer.Context,
    version: str,
    force: Annotated[
        bool, typer.Option(help="Promote even if it does not beat the active.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make VERSION active if it beats the active model on its validation rows."""
    from models.registry import gates_of, promote

    context = app_context(ctx)
    try:
        decision = promote(
            context.database(),
            version,
            force=force,
            gates=gates_of(context.section("models", ModelsConfig)),
        )
    except ModelsError as exc:
        raise _fail(exc) from None
    verdict = "promoted" if decision.promoted else "not promoted"
    typer.echo(f"{version} {verdict}: {decision.reason}")
    if as_json:
        typer.echo(json.dumps(decision.as_dict()))
    if not decision.promoted and decision.reason != "already the active model":
        raise typer.Exit(3)


def score_command(
    ctx: typer.Context,
    every: Annotated[
        float | None, typer.Option(min=0.1, help="Score again every this many seconds.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
) -> None:
    """Score every machine's latest features with the active model into risk_scores."""
    import signal

    from models.scoring import Scorer, ScoringResult

    context = app_context(ctx)
    scorer = Scorer(context.database(), context.section("models", ModelsConfig))

    def report(result: ScoringResult | None) -> None:
        if result is None:
            typer.echo("no active model; nothing scored", err=True)
        elif as_json:
            typer.echo(json.dumps(result.as_dict()))
        else:
            typer.echo(
                f"{result.model_version}: {result.machines} machines, {result.written} new rows,"
                f" max PSI {result.max_psi}, {result.seconds * 1000:.0f} ms"
            )

    if every is None:
        try:
            report(scorer.score())
        except ModelsError as exc:
            raise _fail(exc) from None
        return
    logging.getLogger(__name__).info("scoring every %.1f s", every)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scorer.run(every, stop=stop, on_result=report)


@models_app.command("export")
def export_command(
    ctx: typer.Context,
    version: str,
    fmt: Annotated[
        str, typer.Option("--format", help="lightgbm (native text) or onnx (onnxmltools).")
    ] = "lightgbm",
    out: Annotated[str, typer.Option(help="Directory to write the files to.")] = ".",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write model VERSION's boosters (LightGBM text or ONNX) and a JSON sidecar with its
    feature list, feature definition and output transforms."""
    from pathlib import Path

    from models.export import export_model
    from models.registry import load_model

    if fmt not in ("lightgbm", "onnx"):
        raise typer.BadParameter(f"expected lightgbm or onnx, got {fmt!r}", param_hint="--format")
    try:
        model = load_model(app_context(ctx).database(), version)
        result = export_model(model.artifact, model.version, fmt, Path(out))  # type: ignore[arg-type]
    except ModelsError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    for name, path in result.boosters.items():
        typer.echo(f"{name:<11} {path}")
    typer.echo(f"{'sidecar':<11} {result.sidecar}")
