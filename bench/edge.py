"""``millwright bench edge``: the edge's footprint and per-machine scoring latency beside the
central scoring path.

- The centre: :func:`models.score_frame` — what ``score_latest`` runs between reading the
  stored features and writing ``risk_scores`` — on the same feature frame (the central feature
  job runs apart, so the centre's per-machine figure has no feature cost).
- The edge: a fresh interpreter started as ``millwright edge run`` starts (pyarrow,
  scikit-learn, Dash, OR-Tools, the API and Dask refused, :mod:`edge.lean`) opens a SQLite
  copy holding a model trained like the central one and the feature state of ``machines`` ×
  ``sensors``, streams one sample per ``sample_seconds`` per sensor, in time order as MQTT
  delivers them, into the edge's window (:class:`edge.window.ReadingWindow`: the open cadence
  bin raw, one look-back of closed bins reduced), and times scoring every machine at one
  instant as the service does: features and scores ``chunk`` machines at a time. It
  reports its resident memory after its imports, after the timed runs (``VmRSS``) and at its
  peak (``VmHWM``), both taken before the centre's path loads LightGBM's Python package in
  the same interpreter for its comparison (the edge scores through ``lib_lightgbm``,
  :class:`models.NativeBooster`, and lists any heavy module it loaded), then again once the
  webhook client has loaded (httpx: an edge loads it to send its first webhook in an
  outage); a second interpreter reports the resident memory after the imports of
  ``millwright edge run`` (the CLI root, MQTT client, the alerts stage) for comparison.
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
# what the edge process must not load (scipy and LightGBM's Python package: it scores through
# lib_lightgbm, models.NativeBooster)
_HEAVY = ("dash", "ortools", "fastapi", "sklearn", "pyarrow", "dask", "scipy", "lightgbm")
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


def edge_child(path: str, sample_seconds: int, repeats: int, chunk: int | None = None) -> None:
    """The edge side, in its own interpreter (started with :func:`edge.keep_out` in force,
    as ``millwright edge run`` starts): prints one JSON line. ``chunk``: machines featurised
    together (default: the service's, ``EdgeConfig.chunk_machines``)."""
    from edge.cache import EdgeCache
    from edge.config import EdgeConfig
    from edge.lean import release_memory
    from edge.scoring import EdgeScorer
    from edge.window import ReadingWindow

    imports_mb = _status("VmRSS")
    if chunk is None:
        chunk = int(EdgeConfig.model_fields["chunk_machines"].default)
    scorer = EdgeScorer(EdgeCache(path), ModelsConfig())
    cached = scorer.cache.load_model()
    assert cached is not None
    state = FeatureState.from_json(cached.state)
    definition = state.definition
    instant = pd.Timestamp(T0 + timedelta(days=2))
    step_us = sample_seconds * 1_000_000
    cadence_us = definition.cadence_minutes * 60_000_000
    lookback_us = int(definition.lookback / timedelta(microseconds=1))
    instant_us = int(instant.value // 1000)
    # from the first run's look-back on; each run's instant is scored when the stream is one
    # cadence bin past it (the bin it opened is the one held raw)
    start_us = instant_us - lookback_us - repeats * cadence_us
    sensor_ids = state.sensors["sensor_id"].to_numpy(np.int64)
    machine_of = state.sensors["machine_id"].to_numpy(np.int64)
    names = state.sensors["sensor"].astype(str).tolist()
    window = ReadingWindow(
        {(f"m{m}", s): (int(m), int(i)) for i, m, s in zip(sensor_ids, machine_of, names,
                                                             strict=True)},
        state,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    keys = [f"m{m}" for m in machine_of]
    fed = [start_us]

    def feed(until_us: int) -> None:
        """As MQTT delivers: every sensor's sample of one time, in time order."""
        while fed[0] < until_us:
            values = rng.normal(0.0, 1.0, len(keys)).tolist()
            t = [fed[0]] * len(keys)
            window.add(zip(keys, names, t, values, [0] * len(keys), strict=True))
            fed[0] += step_us

    machines = sorted({int(m) for m in machine_of})

    def score_at(at: pd.Timestamp) -> None:
        at_us = int(at.value // 1000)
        window.close_until(at_us)  # (the stream has closed them already)
        for k in range(0, len(machines), chunk):
            part = machines[k : k + chunk]
            closed = window.bins(part, at_us)
            scorer.score_bins(closed, window.frame(part, 0, 0), at.to_pydatetime(), part)
        release_memory()  # as the service does after each pass

    samples = []
    for i in range(repeats + 1):
        at = instant - pd.Timedelta(minutes=definition.cadence_minutes * (repeats - i))
        feed(int(at.value // 1000) + cadence_us)
        started = time.perf_counter()
        score_at(at)
        if i:  # the first run loads the copy and warms the caches
            samples.append(time.perf_counter() - started)
    part = machines[:chunk]
    closed = window.bins(part, instant_us)
    empty = window.frame(part, 0, 0)
    frame = scorer.features_from_bins(closed, empty, instant.to_pydatetime(), part)

    def timed(work: Any) -> float:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    features_s = timed(
        lambda: scorer.features_from_bins(closed, empty, instant.to_pydatetime(), part)
    )
    seconds = statistics.median(samples)
    release_memory()
    # the edge's own footprint, before the centre's path (LightGBM's Python package) loads
    rss_mb, peak_mb = _status("VmRSS"), _status("VmHWM")
    edge_modules = sorted(m for m in _HEAVY if sys.modules.get(m) is not None)
    webhooks_loaded = sys.modules.get("httpx") is not None
    # what an edge holds once it has sent a webhook in an outage (httpx loads on the first)
    import httpx

    httpx.Client(follow_redirects=False).close()
    webhook_rss_mb, webhook_peak_mb = _status("VmRSS"), _status("VmHWM")
    from models import ModelArtifact, score_frame

    artifact = ModelArtifact.from_json(cached.artifact)
    central_s = timed(lambda: score_frame(artifact, frame, ModelsConfig()))
    print(
        json.dumps(
            {
                "machines": len(machines),
                "sensors": len(definition.sensors),
                "features": len(definition.names),
                "readings_in_memory": window.samples(),
                "closed_bins": window.bins_held(),
                "window_mb": round(window.nbytes() / 2**20, 1),
                "sample_seconds": sample_seconds,
                "chunk_machines": chunk,
                "score_seconds": round(seconds, 4),
                "per_machine_ms": round(seconds / len(machines) * 1000, 3),
                "features_per_machine_ms": round(features_s / len(part) * 1000, 3),
                "central_score_frame_per_machine_ms": round(central_s / len(part) * 1000, 3),
                "rss_after_imports_mb": round(imports_mb, 1),
                "rss_mb": round(rss_mb, 1),
                "peak_rss_mb": round(peak_mb, 1),
                "heavy_modules": edge_modules,
                "webhook_client_at_start": webhooks_loaded,
                "rss_with_webhook_client_mb": round(webhook_rss_mb, 1),
                "peak_rss_with_webhook_client_mb": round(webhook_peak_mb, 1),
            }
        )
    )


# what ``millwright edge run`` has imported when its loop starts: the CLI root (which refuses
# the heavy libraries first, :func:`edge.keep_out`), the edge commands and the service
EDGE_RUN_IMPORTS = (
    "from edge.lean import keep_out; keep_out(); import millwright.app.cli, edge.cli,"
    " edge.service, edge.window, edge.scoring"
)
_SERVICE_IMPORTS = (
    EDGE_RUN_IMPORTS + "; from bench.edge import _status; print(round(_status('VmRSS'), 1))"
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
            EDGE_RUN_IMPORTS + "; from bench.edge import edge_child; "
            f"edge_child({str(path)!r}, {sample_seconds}, {repeats})"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    edge = json.loads(out.stdout.strip().splitlines()[-1])
    # the child imports the whole service first (MQTT, webhooks, the alerts stage), so its
    # RSS is what `millwright edge run` holds; this interpreter reports those imports alone
    service = subprocess.run(
        [sys.executable, "-c", _SERVICE_IMPORTS], capture_output=True, text=True, check=True
    )
    edge["rss_after_service_imports_mb"] = float(service.stdout.strip().splitlines()[-1])
    return {
        # the high-water mark once webhooks have loaded bounds every figure before it
        "edge": {
            **edge,
            "target_mb": TARGET_MB,
            "ok": edge["peak_rss_with_webhook_client_mb"] <= TARGET_MB,
        },
        "central": {
            "per_machine_ms": edge["central_score_frame_per_machine_ms"],
            "path": "models.score_frame (what score_latest runs between its read and write)"
            " on the same feature frame, in the same interpreter",
        },
    }
