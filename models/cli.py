"""`millwright` commands of the `models` package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, cast

import typer

from millwright.core.commands import CliGroups
from models.errors import CmapssFormatError


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
    threads: int = typer.Option(2, "--threads", min=1, help="LightGBM threads."),
    trees: int | None = typer.Option(
        None, "--trees", min=1, help="Boosting rounds (default: the [models] default)."
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
    config = cmapss_eval.models_config(seed=seed, n_jobs=threads, n_estimators=trees)

    def progress(fold: int, metrics: dict[str, Any]) -> None:
        typer.echo(
            f"fold {fold + 1}/{cv}: RMSE {metrics['rmse']:.2f}  q10 coverage "
            f"{metrics['q10_coverage']:.3f}  training {metrics['train_seconds']:.1f} s",
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
            engines,
            progress=progress,  # type: ignore[arg-type]
        )
        mode = f"cv{cv}" + ("" if engines == "all" else f"-{engines}")
    m = result.metrics
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
    typer.echo(
        f"{mode}: {result.engines} engines, {result.points} points  RMSE {m['rmse']:.2f} "
        f"(truth capped at 125: {m['rmse_capped']:.2f})  MAE {m['mae']:.2f}  "
        f"PHM08 {m['phm08_score']:.1f}  training {result.train_seconds:.1f} s"
    )
    typer.echo(
        f"rul_low (nominal 0.90): coverage {m['q10_coverage']:.3f}, "
        f"{m['q10_coverage_rul_le_125']:.3f} where RUL <= 125"
    )
    typer.echo(
        f"p_fail within {config.horizon_hours:g} cycles: Brier {m['brier']:.4f} "
        f"(base rate {m['brier_base_rate']:.4f})  ROC-AUC {auc}"
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
                "engines": result.engines,
                "mode": mode,
                "cuts": cuts if not official else 1,
                "fold_rmse": [round(f["rmse"], 4) for f in result.folds],
            }
        )
        typer.echo(json.dumps(payload))


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    from models import cli_models

    groups.eval.command("cmapss")(eval_cmapss)
    groups.root.command("train")(cli_models.train_command)
    groups.root.command("score")(cli_models.score_command)
    groups.root.add_typer(cli_models.models_app, name="models")
    groups.bench.command("scoring")(cli_models.bench_scoring)
