"""Scoring: the latest features of every machine through the active model into ``risk_scores``.

One run reads each machine's newest feature row (one COPY), predicts all machines in one
vectorised call per booster, names the top risk drivers per machine, measures the population
stability of today's features against the training data, and writes one row per machine in
one statement. The row carries the features' ``ts``, so scoring twice before new features
arrive writes nothing (the key is machine, ts, model version).

Drift is a property of the population, not of one machine: every row of a run carries the same
summary (largest PSI, the most drifting features), so the dashboard and alerts find it next to
the score they are looking at.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features import latest_features, plant_clock
from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.config import ModelsConfig
from models.registry import RegisteredModel, active_version, load_model

log = logging.getLogger(__name__)

DRIFT_TOP = 5
MAJOR_SHIFT = 0.25

_WRITE = """
INSERT INTO risk_scores
    (ts, machine_id, model_version, horizon_hours, p_fail, rul, rul_low, top_features, drift)
SELECT u.ts, u.machine_id, %(version)s, %(horizon)s, u.p_fail, u.rul, u.rul_low,
       u.top::jsonb, %(drift)s::jsonb
FROM unnest(%(ts)s::timestamptz[], %(machines)s::int[], %(p_fail)s::float8[],
            %(rul)s::float8[], %(rul_low)s::float8[], %(top)s::text[])
     AS u(ts, machine_id, p_fail, rul, rul_low, top)
ON CONFLICT (machine_id, ts, model_version) DO NOTHING
"""


@dataclass(frozen=True)
class ScoringResult:
    """What one run did, with seconds per stage (read, predict, explain, drift, write)."""

    model_version: str
    machines: int
    written: int
    max_psi: float | None
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    no_data: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "machines": self.machines,
            "written": self.written,
            "max_psi": self.max_psi,
            "seconds": round(self.seconds, 4),
            "stages": {k: round(v, 4) for k, v in self.stages.items()},
            "no_data": list(self.no_data),
        }


def drift_summary(
    artifact: ModelArtifact, matrix: np.ndarray, top: int = DRIFT_TOP, min_rows: int = 200
) -> dict[str, Any]:
    """PSI of each feature of an aligned ``matrix`` against the training reference, summed up:
    the largest PSI, the ``top`` most drifting features and how many shifted majorly.

    Bin shares of a handful of rows are noise (5 rows gave a PSI of 18): below ``min_rows``
    the summary says "not enough data" instead of a number."""
    if len(matrix) < min_rows:
        return {
            "max_psi": None,
            "top": [],
            "rows": len(matrix),
            "major": 0,
            "status": f"not enough data ({len(matrix)} rows, PSI needs {min_rows})",
        }
    table = artifact.drift_table
    psi = pd.Series(table.psi(matrix), index=table.names).sort_values(
        ascending=False, kind="stable"
    )
    if psi.empty:
        return {"max_psi": None, "top": [], "rows": len(matrix), "major": 0}
    return {
        "max_psi": round(float(psi.iloc[0]), 6),
        "top": [{"feature": str(k), "psi": round(float(v), 6)} for k, v in psi.head(top).items()],
        "rows": len(matrix),
        "major": int((psi > MAJOR_SHIFT).sum()),
        "status": "ok",
    }


def score_frame(
    artifact: ModelArtifact, latest: pd.DataFrame, config: ModelsConfig
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, float]]:
    """Scores of ``latest`` (machine_id, ts, features): rows, drift summary, stage seconds.

    No I/O; ``rows`` has machine_id, ts, p_fail, rul, rul_low, top_features (JSON text).
    """
    stages: dict[str, float] = {}
    clock = time.perf_counter()
    matrix = artifact.matrix(latest.drop(columns=["machine_id", "ts"]))
    predictions = artifact.predict_matrix(matrix)
    stages["predict"] = time.perf_counter() - clock
    clock = time.perf_counter()
    tops = artifact.top_features(matrix, config.top_k, config.explain)
    stages["explain"] = time.perf_counter() - clock
    clock = time.perf_counter()
    drift = drift_summary(artifact, matrix, min_rows=config.drift_min_rows)
    stages["drift"] = time.perf_counter() - clock
    rows = pd.DataFrame(
        {
            "machine_id": latest["machine_id"].to_numpy(dtype=np.int64),
            "ts": latest["ts"].to_numpy(),
            "p_fail": predictions.p_fail,
            "rul": predictions.rul,
            "rul_low": predictions.rul_low,
            "top_features": [json.dumps(t) for t in tops],
        }
    )
    return rows, drift, stages


def write_scores(
    database: Database,
    rows: pd.DataFrame,
    *,
    model_version: str,
    horizon_hours: float,
    drift: dict[str, Any],
) -> int:
    """Insert score rows; rows already stored for (machine, ts, version) are kept. Returns
    the number of new rows."""
    if rows.empty:
        return 0
    params = {
        "version": model_version,
        "horizon": horizon_hours,
        "drift": json.dumps(drift),
        "ts": pd.DatetimeIndex(rows["ts"]).to_pydatetime().tolist(),
        "machines": rows["machine_id"].astype(int).tolist(),
        "p_fail": rows["p_fail"].astype(float).tolist(),
        "rul": rows["rul"].astype(float).tolist(),
        "rul_low": rows["rul_low"].astype(float).tolist(),
        "top": rows["top_features"].tolist(),
    }
    with database.connection() as conn, conn.cursor() as cur:
        cur.execute(_WRITE, params)
        return max(cur.rowcount, 0)


def fresh_latest(
    database: Database, latest: pd.DataFrame, no_data_minutes: float
) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """The latest rows that are recent enough to score, and the machines that have no data.

    A row older than the plant clock (the newest reading of any machine) minus
    ``no_data_minutes`` belongs to a machine that went silent or offline: it is scored "no
    data" (nothing written), not extrapolated from its last features.
    """
    if latest.empty:
        return latest, ()
    clock = pd.Timestamp(plant_clock(database))
    limit = clock - pd.Timedelta(minutes=no_data_minutes)
    stale = (pd.to_datetime(latest["ts"], utc=True) < limit).to_numpy()
    silent = tuple(int(m) for m in latest.loc[stale, "machine_id"])
    return latest[~stale].reset_index(drop=True), silent


def score_latest(
    database: Database,
    config: ModelsConfig,
    *,
    model: RegisteredModel | None = None,
    machine_ids: Sequence[int] | None = None,
) -> ScoringResult:
    """Score every machine's newest features with ``model`` (default: the active model)."""
    started = time.perf_counter()
    if model is None:
        from models.registry import load_active

        model = load_active(database)
    latest = latest_features(database, model.record.feature_version, machine_ids)
    latest, silent = fresh_latest(database, latest, config.no_data_minutes)
    read = time.perf_counter() - started
    if silent:
        log.warning("no data from machines %s: not scored", list(silent))
    if latest.empty:
        log.warning("no features of %s to score", model.record.feature_version)
        return ScoringResult(model.version, 0, 0, None, read, {"read": read}, silent)
    rows, drift, stages = score_frame(model.artifact, latest, config)
    clock = time.perf_counter()
    written = write_scores(
        database,
        rows,
        model_version=model.version,
        horizon_hours=model.artifact.horizon_hours,
        drift=drift,
    )
    stages = {"read": read, **stages, "write": time.perf_counter() - clock}
    result = ScoringResult(
        model.version,
        len(rows),
        written,
        drift["max_psi"],
        time.perf_counter() - started,
        stages,
        silent,
    )
    log.info(
        "scored %d machines with %s: %d new rows, max PSI %s, %.3f s",
        result.machines,
        result.model_version,
        written,
        drift["max_psi"],
        result.seconds,
    )
    return result


class Scorer:
    """Scores on a cadence, reloading the model only when the active version changes."""

    def __init__(self, database: Database, config: ModelsConfig) -> None:
        self._database = database
        self._config = config
        self._model: RegisteredModel | None = None

    def model(self) -> RegisteredModel | None:
        """The active model (cached per version); None when none is active."""
        version = active_version(self._database)
        if version is None:
            self._model = None
        elif self._model is None or self._model.version != version:
            self._model = load_model(self._database, version)
            log.info("scoring with model %s", version)
        return self._model

    def score(self) -> ScoringResult | None:
        """One run; None (and a warning) when no model is active yet."""
        model = self.model()
        if model is None:
            log.warning("no active model yet; nothing scored")
            return None
        return score_latest(self._database, self._config, model=model)

    def run(
        self,
        every: float,
        *,
        stop: threading.Event | None = None,
        on_result: Callable[[ScoringResult | None], None] | None = None,
    ) -> None:
        """Score every ``every`` seconds until ``stop`` is set. A failed run is logged and
        retried at the next tick: a long-running service does not die of one bad batch."""
        stop = stop or threading.Event()
        while not stop.is_set():
            started = time.monotonic()
            try:
                result = self.score()
            except Exception:
                log.exception("scoring failed; retrying in %.0f s", every)
            else:
                if on_result is not None:
                    on_result(result)
            stop.wait(max(0.0, every - (time.monotonic() - started)))
