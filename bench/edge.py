"""``millwright bench edge``: the edge's footprint and per-machine scoring latency beside the
central scoring path.

- The centre: :func:`models.score_frame` — what ``score_latest`` runs between reading the
  stored features and writing ``risk_scores`` — on the same feature frame (the central feature
  job runs apart, so the centre's per-machine figure has no feature cost).
- The edge: a fresh interpreter (only ``edge`` and what it imports: features, models,
  LightGBM, pandas, sqlite3 — no Dash, OR-Tools or the API) opens a SQLite copy holding a
  model trained like the central one and the feature state of ``machines`` × ``sensors``,
  holds one look-back (the longest window) of readings at one sample per ``sample_seconds``
  per sensor in memory, and times :meth:`edge.EdgeScorer.score` (features from readings plus
  scoring, kept in SQLite). It reports its resident memory (``VmRSS``, and the peak
  ``VmHWM``) after the timed runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.baselines import Baselines
from features.definitions import FeatureDefinition
from features.state import FeatureState
from models.config import ModelsConfig

TARGET_MB = 150.0
T0 = datetime(2024, 1, 1, tzinfo=UTC)  # as bench.scoring (not imported by the edge side)


def _definition(sensors: int) -> FeatureDefinition:
    return FeatureDefinition(sensors=tuple(f"s{i:02d}" for i in range(sensors)))


def write_cache(path: Path, config: ModelsConfig, machines: int, sensors: int) -> None:
    """A SQLite copy with a model trained on synthetic wear and the plant's feature state."""
    from bench.scoring import _train
    from edge.cache import EdgeCache

    definition = _definition(sensors)
    rng = np.random.default_rng(config.seed)
    trained = _train(
        definition.names, config.model_copy(update={"calibration_folds": 2}), rng, 1000
    )
    ids = np.arange(1, machines + 1)
    frame = pd.DataFrame(
        {
            "sensor_id": np.arange(1, machines * sensors + 1, dtype=np.int64),
            "machine_id": np.repeat(ids, sensors).astype(np.int64),
            "sensor": [f"s{i:02d}" for i in range(sensors)] * machines,
        }
    )
    events = pd.DataFrame(
        {
            "machine_id": np.zeros(0, np.int64),
            "ts": pd.DatetimeIndex([], tz="UTC").as_unit("us"),
            "kind": pd.Series([], dtype=object),
            "ends_at": pd.DatetimeIndex([], tz="UTC").as_unit("us"),
        }
    )
    state = FeatureState(
        definition,
        frame,
        events,
        {int(m): T0 for m in ids},
        Baselines.empty(sensors),
    )
    cache = EdgeCache(path)
    cache.store_model("mdl-bench", definition.version, trained.artifact.to_json(), state.to_json())
    cache.close()


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB -> MiB
    return float("nan")


def edge_child(path: str, sample_seconds: int, repeats: int) -> None:
    """The edge side, in its own interpreter: prints one JSON line."""
    from edge.cache import EdgeCache
    from edge.scoring import EdgeScorer

    scorer = EdgeScorer(EdgeCache(path), ModelsConfig())
    cached = scorer.cache.load_model()
    assert cached is not None
    state = FeatureState.from_json(cached.state)
    definition = state.definition
    instant = pd.Timestamp(T0 + timedelta(days=2))
    lookback = definition.lookback
    step_us = sample_seconds * 1_000_000
    n = int(lookback / timedelta(seconds=sample_seconds))
    start_us = int((instant - lookback).value // 1000)
    sensor_ids = state.sensors["sensor_id"].to_numpy(np.int64)
    machine_of = state.sensors["machine_id"].to_numpy(np.int64)
    rng = np.random.default_rng(0)
    readings = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(
                np.tile(start_us + step_us * np.arange(n), len(sensor_ids)).astype(
                    "datetime64[us]"
                ),
                tz="UTC",
            ),
            "machine_id": np.repeat(machine_of, n),
            "sensor_id": np.repeat(sensor_ids, n),
            "value": rng.normal(0.0, 1.0, n * len(sensor_ids)),
            "quality": np.zeros(n * len(sensor_ids), np.int16),
        }
    )
    samples = []
    for i in range(repeats + 1):
        at = instant - pd.Timedelta(minutes=definition.cadence_minutes * (repeats - i))
        started = time.perf_counter()
        scorer.score(readings, at.to_pydatetime())
        if i:  # the first run loads the copy and warms the caches
            samples.append(time.perf_counter() - started)
    from models import ModelArtifact, score_frame

    artifact = ModelArtifact.from_json(cached.artifact)
    frame = scorer.features(readings, instant.to_pydatetime())

    def timed(work: Any) -> float:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    features_s = timed(lambda: scorer.features(readings, instant.to_pydatetime()))
    central_s = timed(lambda: score_frame(artifact, frame, ModelsConfig()))
    machines = int(state.sensors["machine_id"].nunique())
    seconds = statistics.median(samples)
    print(
        json.dumps(
            {
                "machines": machines,
                "sensors": len(definition.sensors),
                "features": len(definition.names),
                "readings_in_memory": len(readings),
                "sample_seconds": sample_seconds,
                "score_seconds": round(seconds, 4),
                "per_machine_ms": round(seconds / machines * 1000, 3),
                "features_per_machine_ms": round(features_s / machines * 1000, 3),
                "central_score_frame_per_machine_ms": round(central_s / machines * 1000, 3),
                "rss_mb": round(_status("VmRSS"), 1),
                "peak_rss_mb": round(_status("VmHWM"), 1),
                "heavy_modules": sorted(
                    m for m in ("dash", "ortools", "fastapi", "sklearn") if m in sys.modules
                ),
            }
        )
    )


def run_edge_benchmark(
    config: ModelsConfig,
    *,
    machines: int = 100,
    sensors: int = 20,
    repeats: int = 5,
    sample_seconds: int = 60,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="millwright-bench-edge-") as tmp:
        path = Path(tmp) / "edge.sqlite"
        write_cache(path, config, machines, sensors)
        code = (
            "from bench.edge import edge_child; "
            f"edge_child({str(path)!r}, {sample_seconds}, {repeats})"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    edge = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "edge": {**edge, "target_mb": TARGET_MB, "ok": edge["rss_mb"] <= TARGET_MB},
        "central": {
            "per_machine_ms": edge["central_score_frame_per_machine_ms"],
            "path": "models.score_frame (what score_latest runs between its read and write)"
            " on the same feature frame, in the same interpreter",
        },
    }
