"""`millwright` commands of the `models` package."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from millwright.core.commands import CliGroups
from models.errors import CmapssFormatError
from models.validation import RulMetrics


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


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    from models import cli_models

    groups.eval.command("cmapss")(eval_cmapss)
    groups.root.command("train")(cli_models.train_command)
    groups.root.command("score")(cli_models.score_command)
    groups.root.add_typer(cli_models.models_app, name="models")
    groups.bench.command("scoring")(cli_models.bench_scoring)
