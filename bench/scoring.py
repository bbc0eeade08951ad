"""``millwright bench scoring``: scoring the latest state of N machines against bare predict.

Works in a scratch database next to the configured one (created and dropped here). It
registers a feature definition of ``sensors`` sensors (the default windows: 26 features per
sensor), writes two instants of synthetic features per machine, trains a model with the
configured booster sizes on synthetic wear data, promotes it, and then times, median of
``repeats`` runs:

- :func:`models.scoring.score_latest` end to end (read latest features, predict, top
  features, drift, write one row per machine), with its stages;
- the bare LightGBM ``predict`` of the classifier on the same matrix, and of all three
  boosters — the floor any scoring could reach;
- exact TreeSHAP (``pred_contrib``) on the same matrix, which path attribution replaces.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from features.definitions import FeatureDefinition
from features.store import FeatureStore
from millwright.core.storage.scratch import scratch_database
from models.config import ModelsConfig
from models.registry import load_model, promote, save_candidate
from models.scoring import score_latest
from models.training import TrainingResult, fit_artifact

TARGET_SECONDS = 1.0
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic_features(
    names: tuple[str, ...], wear: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Features where a tenth of the columns follow wear, the rest are noise."""
    values = rng.normal(0.0, 1.0, (len(wear), len(names)))
    values[:, :: max(len(names) // 50, 1)] += 3.0 * wear[:, None]
    return values


def _train(
    names: tuple[str, ...], config: ModelsConfig, rng: np.random.Generator, rows: int
) -> TrainingResult:
    from models.holdout import ValidationSet

    wear = rng.uniform(0.0, 1.0, rows)
    X = pd.DataFrame(synthetic_features(names, wear, rng), columns=list(names))
    machine = rng.integers(1, 200, rows)
    rul = (1.0 - wear) * 200.0 + rng.normal(0, 5, rows).clip(-5, 5)
    labels = pd.DataFrame(
        {
            "machine_id": machine,
            "ts": pd.Timestamp(T0),
            "failed_within_h": pd.array(rul <= config.horizon_hours, dtype="boolean"),
            "rul": rul.clip(0, None),
            "rul_lower": rul.clip(0, None),
            "censored": np.zeros(rows, dtype=bool),
            "down": np.zeros(rows, dtype=bool),
        }
    )
    artifact = fit_artifact(X, labels, config)
    validation = ValidationSet((1,), T0, T0, T0, config.horizon_hours)
    return TrainingResult(artifact, "", T0, T0, {}, {}, validation)


def run_scoring_benchmark(
    url: str,
    config: ModelsConfig,
    *,
    machines: int = 1000,
    sensors: int = 20,
    repeats: int = 5,
    training_rows: int = 1000,
    echo: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Run the benchmark in a scratch database; returns the figures as a dict."""
    rng = np.random.default_rng(config.seed)
    definition = FeatureDefinition(sensors=tuple(f"s{i:02d}" for i in range(sensors)))
    names = definition.names
    with scratch_database(url, "bench_scoring") as database:
        store = FeatureStore(database)
        version = store.register(definition)
        database.execute(
            "INSERT INTO machines (name) SELECT 'bench-m' || g FROM generate_series(1, %s) g",
            (machines,),
        )
        ids = np.array([r[0] for r in database.execute("SELECT id FROM machines ORDER BY id")])
        echo(f"writing features of {machines} machines ({len(names)} features) ...")
        # Features dated just now: with no readings the plant clock is the wall clock, and
        # scoring skips machines whose newest features are older than `no_data_minutes`.
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        for k in range(2):
            frame = pd.DataFrame(
                synthetic_features(names, rng.uniform(0, 1, machines), rng), columns=list(names)
            )
            frame.insert(0, "ts", pd.Timestamp(recent + timedelta(minutes=5 * k)))
            frame.insert(0, "machine_id", ids)
            store.write(version, frame)
        echo(
            f"training {config.lightgbm.n_estimators} trees x 3 boosters on "
            f"{training_rows} synthetic rows ..."
        )
        # two calibration folds: the scoring cost depends on the boosters, not on the folds
        trained = _train(
            names, config.model_copy(update={"calibration_folds": 2}), rng, training_rows
        )
        trained = TrainingResult(trained.artifact, version, T0, T0, {}, {}, trained.validation)
        record = save_candidate(database, trained)
        promote(database, record.version, force=True)
        model = load_model(database, record.version)
        runs = []
        for i in range(repeats + 1):
            database.execute("TRUNCATE risk_scores")
            result = score_latest(database, config, model=model)
            if i:  # the first run warms the caches (path table, connections)
                runs.append(result)
            echo(f"run {i}: {result.seconds * 1000:.1f} ms ({result.written} rows)")
        latest = store.latest(version)
        matrix = model.artifact.matrix(latest.drop(columns=["machine_id", "ts"]))
        artifact = model.artifact

        def timed(work: Callable[[], object]) -> float:
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                work()
                samples.append(time.perf_counter() - started)
            return statistics.median(samples)

        bare = timed(lambda: artifact.classifier.predict(matrix))
        bare_three = timed(
            lambda: (
                artifact.classifier.predict(matrix),
                artifact.rul.predict(matrix),
                artifact.rul_low.predict(matrix),
            )
        )
        shap = timed(lambda: artifact.classifier.predict(matrix, pred_contrib=True))
    stages = {
        key: round(statistics.median(r.stages.get(key, 0.0) for r in runs), 4)
        for key in runs[0].stages
    }
    seconds = statistics.median(r.seconds for r in runs)
    return {
        "machines": machines,
        "features": len(names),
        "trees": config.lightgbm.n_estimators,
        "explain": config.explain,
        "written": runs[-1].written,
        "score_seconds": round(seconds, 4),
        "stages": stages,
        "bare_predict_seconds": round(bare, 4),
        "bare_three_boosters_seconds": round(bare_three, 4),
        "shap_seconds": round(shap, 4),
        "target_seconds": TARGET_SECONDS,
        "ok": seconds < TARGET_SECONDS,
    }


def summary_lines(result: dict[str, Any]) -> list[str]:
    stages = "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in result["stages"].items())
    return [
        f"scoring {result['machines']} machines x {result['features']} features, "
        f"{result['trees']} trees: {result['score_seconds'] * 1000:.0f} ms end to end "
        f"(target < {result['target_seconds'] * 1000:.0f} ms) "
        f"{'OK' if result['ok'] else 'TOO SLOW'}",
        f"  stages: {stages}",
        f"  bare LightGBM predict: classifier {result['bare_predict_seconds'] * 1000:.1f} ms, "
        f"three boosters {result['bare_three_boosters_seconds'] * 1000:.1f} ms",
        f"  exact TreeSHAP (pred_contrib) alone: {result['shap_seconds'] * 1000:.0f} ms",
    ]
