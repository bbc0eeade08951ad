"""Training on an existing Dask cluster with ``lightgbm.dask`` (``train --dask ADDRESS``).

What runs where (the driver sends tasks and receives the artifact and the metrics; no feature
row passes through it):

- **Reading.** The Dask workers read the feature frames, one task per machine partition,
  each straight from the database with a connection of its own; the frames stay in the
  workers' memory.
- **Split.** The hold-out is by machine: one task decides the held-out machines and the time
  cut with :func:`models.holdout.split` over the partitions' (machine, time) keys only, then
  every partition picks its own training and validation rows where it lies.
- **Fit.** One task gathers the training partitions worker to worker and fits there: the
  classifier's calibration folds and the conformal folds index rows of one process. Every
  LightGBM fit in it — each calibration fold and the refit, the RUL median and low-quantile
  boosters — runs data-parallel on all workers through ``lightgbm.dask``
  (``tree_learner = data``). So the training rows must fit in one worker's memory (not the
  driver's); the boosting's CPU is spread.
- **Evaluation** runs on a worker from the validation partitions.
- **The result** is an ordinary fitted model: each Dask booster is turned into its local
  equivalent (``to_local()``) as soon as it is fitted, so the artifact in the registry, and
  scoring, need no Dask.

LightGBM-on-Dask networking: each worker opens a listening socket for LightGBM's own
collective communication, besides Dask's ports. By default ``lightgbm.dask`` picks a free
port per worker just before training (a short race with other programs on the host is
possible); set ``models.dask_listen_port`` to pin ``local_listen_port`` (then open that port
between the Dask workers' hosts, and run one Dask worker process per host or LightGBM cannot
bind it twice). LightGBM needs one process per worker (``processes=True`` for a
``LocalCluster``): two Dask workers in one process would share LightGBM's network state.

Distributed boosting builds histograms from each worker's rows, so the trees are close to,
not identical with, single-process training; the tests state the tolerance.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor

from features import FeatureStore, UnknownVersionError, load_training_frame, plant_clock
from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.config import ModelsConfig
from models.errors import ModelInputError
from models.estimators import risk_classifier, rul_regressor
from models.holdout import ValidationSet, classifier_rows, evaluate, rul_rows, split
from models.risk import FailureRiskClassifier
from models.rul import RulRegressor
from models.training import EARLIEST, Progress, TrainingResult, _summary, fit_artifact

log = logging.getLogger(__name__)

__all__ = ["DaskTraining", "partition_masks", "train_model_dask"]


def _client() -> Any:
    from distributed import get_client

    return get_client()


def _spread(client: Any, array: np.ndarray, keep: list[Any]) -> Any:
    """A dask array with one row block on each worker (LightGBM trains where the data is).

    ``hash=False``: each fit scatters under fresh keys; content-hashed keys would be shared
    with an earlier fit's blocks and released with them. ``keep`` holds the futures until
    the fit has run (the graph names them by key only)."""
    import dask.array as da

    workers = sorted(client.scheduler_info()["workers"])
    rows = max(math.ceil(len(array) / len(workers)), 1)
    blocks = []
    for i, worker in enumerate(workers):
        part = array[i * rows : (i + 1) * rows]
        if len(part) == 0:
            continue
        future = client.scatter(part, workers=[worker], hash=False)
        keep.append(future)
        blocks.append(da.from_delayed(future, shape=part.shape, dtype=part.dtype))
    return da.concatenate(blocks)


def _fit_on_dask(model: Any, dask_class: type, X: np.ndarray, y: np.ndarray, **fit: Any) -> Any:
    client = _client()
    params = model.get_params()
    params.pop("n_jobs", None)  # lightgbm.dask uses each Dask worker's threads instead
    distributed = dask_class(client=client, **params)
    keep: list[Any] = []
    weight = fit.pop("sample_weight", None)
    if weight is not None:
        fit["sample_weight"] = _spread(client, np.asarray(weight), keep)
    with warnings.catch_warnings():
        # lightgbm.dask sets each worker's threads itself and says so about n_jobs
        warnings.filterwarnings("ignore", message=r"Parameter (n_jobs|num_threads) will be")
        distributed.fit(
            _spread(client, np.asarray(X), keep), _spread(client, np.asarray(y), keep), **fit
        )
    local = distributed.to_local()
    model.__dict__.update(local.__dict__)
    del keep  # the blocks may go now
    return local


class _DaskClassifier(LGBMClassifier):
    """An LGBMClassifier whose fit runs on the Dask cluster; fitted, it is a plain one."""

    def fit(self, X: Any, y: Any, **fit: Any) -> LGBMClassifier:  # type: ignore[override]
        from lightgbm.dask import DaskLGBMClassifier

        _fit_on_dask(self, DaskLGBMClassifier, X, y, **fit)
        self.__class__ = LGBMClassifier  # the calibrator keeps this object: make it plain
        return self


class _DaskRegressor(LGBMRegressor):
    def fit(self, X: Any, y: Any, **fit: Any) -> LGBMRegressor:  # type: ignore[override]
        from lightgbm.dask import DaskLGBMRegressor

        _fit_on_dask(self, DaskLGBMRegressor, X, y, **fit)
        self.__class__ = LGBMRegressor
        return self


def _port(estimator: object) -> dict[str, Any]:
    """``local_listen_port`` as a booster parameter, so scikit-learn's clones keep it."""
    port = getattr(estimator, "listen_port", None)
    return {"local_listen_port": port} if port else {}


class _DaskRiskClassifier(FailureRiskClassifier):
    def _booster(self) -> LGBMClassifier:
        local = super()._booster()
        return _DaskClassifier(**local.get_params(), **_port(self))

    def fit(self, X: pd.DataFrame, y: object, groups: object = None) -> FailureRiskClassifier:
        super().fit(X, y, groups=groups)
        self.__class__ = FailureRiskClassifier  # type: ignore[assignment]
        return self


class _DaskRulRegressor(RulRegressor):
    def _regressor(self, alpha: float | None) -> LGBMRegressor:
        local = super()._regressor(alpha)
        return _DaskRegressor(**local.get_params(), **_port(self))

    def _centre(self) -> LGBMRegressor:
        """LightGBM's linear leaves exist only for its serial (single-machine) tree learner,
        and lightgbm.dask trains data-parallel: on the cluster the centre keeps constant
        leaves, and says so."""
        if self.linear_leaves:
            log.info("training on Dask: the central RUL booster has constant leaves")
        return self._regressor(0.5 if self.objective == "median" else None)

    def fit(self, X: pd.DataFrame, y: object) -> RulRegressor:
        super().fit(X, y)
        self.__class__ = RulRegressor  # type: ignore[assignment]
        return self


def _dask_classifier(config: ModelsConfig) -> FailureRiskClassifier:
    model = _DaskRiskClassifier(**risk_classifier(config).get_params())
    model.listen_port = config.dask_listen_port  # type: ignore[attr-defined]
    return model


def _dask_regressor(config: ModelsConfig) -> RulRegressor:
    model = _DaskRulRegressor(**rul_regressor(config).get_params())
    model.listen_port = config.dask_listen_port  # type: ignore[attr-defined]
    return model


# --- tasks that run on the Dask workers ---------------------------------------------------

Part = tuple[pd.DataFrame, pd.DataFrame]
"""One machine partition's (features, labels), held in a Dask worker's memory."""


def _load_part(
    url: str, version: str, start: datetime, end: datetime, machines: list[int], kw: dict[str, Any]
) -> Part:
    """One machine partition's frame, read straight from the database with its own connection."""
    database = Database(url, min_size=0, max_size=1)
    try:
        return load_training_frame(database, version, start, end, machine_ids=machines, **kw)
    finally:
        database.close()


def _keys(part: Part) -> pd.DataFrame:
    """What the split needs of a partition: machine and time of each row (no features)."""
    return part[1][["machine_id", "ts"]]


def _decide_split(config: ModelsConfig, *keys: pd.DataFrame) -> tuple[tuple[int, ...], datetime]:
    """The held-out machines and the time cut, by :func:`models.holdout.split` itself over the
    (machine, time) keys of every partition: the same decision as single-process training."""
    _, _, held, cut = split(
        pd.concat(keys, ignore_index=True),
        validation_machines=config.validation_machines,
        validation_tail=config.validation_tail,
        embargo_hours=config.horizon_hours,
        seed=config.seed,
    )
    return held, cut


def partition_masks(
    labels: pd.DataFrame, held: Sequence[int], cut: datetime, embargo_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validate) masks of one partition's rows, from the decided machines and cut.

    The split is by machine, so a partition needs nothing but its own rows: the same rule as
    :func:`models.holdout.split` (tested equal)."""
    machine = labels["machine_id"].to_numpy(dtype=np.int64)
    ts = pd.to_datetime(labels["ts"], utc=True)
    cut_ts = pd.Timestamp(cut)
    in_held = np.isin(machine, np.asarray(held, dtype=np.int64))
    validate = in_held & (ts >= cut_ts).to_numpy()
    train = ~in_held & (ts < cut_ts - pd.Timedelta(hours=embargo_hours)).to_numpy()
    return train, validate


def _select(
    part: Part, held: tuple[int, ...], cut: datetime, embargo_hours: float, role: str
) -> Part:
    """The training or the validation rows of one partition (stays on its worker)."""
    X, labels = part
    train, validate = partition_masks(labels, held, cut, embargo_hours)
    rows = train if role == "train" else validate
    return X[rows].reset_index(drop=True), labels[rows].reset_index(drop=True)


def _gather_parts(parts: Sequence[Part]) -> Part:
    """Partitions as one frame, in the row order of one query over every machine."""
    X = pd.concat([p[0] for p in parts], ignore_index=True)
    labels = pd.concat([p[1] for p in parts], ignore_index=True)
    order = labels.sort_values(["machine_id", "ts"], kind="stable").index.to_numpy()
    return X.iloc[order].reset_index(drop=True), labels.iloc[order].reset_index(drop=True)


def _fit_task(
    config: ModelsConfig, definition: dict[str, Any], *parts: Part
) -> tuple[ModelArtifact, dict[str, Any]]:
    """Fit the artifact on a worker from the training partitions (moved worker to worker).

    The task leaves the worker's thread pool (``worker_client``) while ``lightgbm.dask`` runs
    the boosting on every worker, this one included."""
    from distributed import worker_client

    X, labels = _gather_parts(parts)
    with worker_client():
        artifact = fit_artifact(
            X,
            labels,
            config,
            feature_definition=definition,
            estimators=(_dask_classifier, _dask_regressor),
        )
    known, _ = classifier_rows(labels)
    has_rul, _ = rul_rows(labels, artifact.rul_cap_hours)
    ts = pd.to_datetime(labels["ts"], utc=True)
    summary = {
        "rows": len(labels),
        "rows_classifier": int(known.sum()),
        "rows_rul": int(has_rul.sum()),
        "machines": int(labels["machine_id"].nunique()),
        "rul_cap_hours": artifact.rul_cap_hours,
        "from": ts.min().to_pydatetime(),
        "to": ts.max().to_pydatetime(),
    }
    return artifact, summary


def _evaluate_task(fitted: tuple[ModelArtifact, dict[str, Any]], *parts: Part) -> dict[str, Any]:
    """The held-out metrics, computed on a worker from the validation partitions."""
    artifact = fitted[0]
    X, labels = _gather_parts(parts)
    metrics = evaluate(artifact, X, labels, rul_cap_hours=artifact.rul_cap_hours)
    ts = pd.to_datetime(labels["ts"], utc=True)
    metrics["_rows"] = len(labels)
    metrics["_end"] = ts.max().to_pydatetime() if len(ts) else None
    return metrics


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


# --- the driver ---------------------------------------------------------------------------


class DaskTraining:
    """A connection to a Dask scheduler for one training run."""

    def __init__(self, address: str, *, partitions: int | None = None) -> None:
        from distributed import Client

        self.client = Client(address)
        workers = len(self.client.scheduler_info()["workers"])
        if workers == 0:
            self.client.close()
            raise RuntimeError(f"the Dask scheduler at {address} has no workers")
        self.partitions = partitions or 2 * workers

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DaskTraining:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def read(
        self,
        url: str,
        version: str,
        start: datetime,
        end: datetime,
        machines: Sequence[int],
        **kw: Any,
    ) -> list[Any]:
        """Futures of the machine partitions' frames, each read by a worker from the database."""
        ids = sorted(int(m) for m in machines)
        parts = [ids[i :: self.partitions] for i in range(self.partitions)]
        parts = [p for p in parts if p]
        return [
            self.client.submit(_load_part, url, version, start, end, p, kw, pure=False)
            for p in parts
        ]


def _machine_ids(database: Database) -> list[int]:
    return [int(r[0]) for r in database.execute("SELECT id FROM machines ORDER BY id")]


def train_model_dask(
    database: Database,
    config: ModelsConfig,
    address: str,
    *,
    feature_version: str,
    start: datetime | None = None,
    end: datetime | None = None,
    observed_until: datetime | None = None,
    machine_ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    partitions: int | None = None,
) -> TrainingResult:
    """:func:`models.training.train_model` on the Dask cluster: same split, same result type.

    The driver sends tasks and receives the fitted artifact and the metrics; no feature row
    passes through it."""
    started = time.perf_counter()

    def say(message: str) -> None:
        log.info("train (dask): %s", message)
        if progress is not None:
            progress(message)

    seen = observed_until or plant_clock(database)
    last = end or seen
    definition = FeatureStore(database)
    try:
        feature_definition = definition.definition(feature_version).to_json()
    except UnknownVersionError as exc:
        raise ModelInputError(f"{exc}; run `millwright features run` first") from exc
    ids = list(machine_ids) if machine_ids is not None else _machine_ids(database)
    with DaskTraining(address, partitions=partitions) as dask:
        client = dask.client
        say(
            f"loading features {feature_version} up to {last:%Y-%m-%d %H:%M} on the Dask "
            f"cluster at {address} ({dask.partitions} machine partitions)"
        )
        parts = dask.read(
            database.url,
            feature_version,
            start or EARLIEST,
            last,
            ids,
            horizon_hours=config.horizon_hours,
            observed_until=seen,
        )
        keys = [client.submit(_keys, p) for p in parts]
        sizes = client.gather([client.submit(len, k) for k in keys])
        if sum(sizes) == 0:
            raise ModelInputError(
                f"no stored features of version {feature_version} in the range; run "
                "`millwright features run` (or backfill) first"
            )
        held, cut = client.submit(_decide_split, config, *keys).result()
        embargo = config.horizon_hours
        train = [client.submit(_select, p, held, cut, embargo, "train") for p in parts]
        validate = [client.submit(_select, p, held, cut, embargo, "validate") for p in parts]
        del parts, keys  # the full frames may go; the selections keep what they need
        validation_rows = sum(client.gather([client.submit(_rows, v) for v in validate]))
        if validation_rows == 0:
            raise ModelInputError("the validation split is empty; widen the time range")
        say(
            f"{sum(sizes):,} rows: validating on {validation_rows:,} rows of {len(held)} "
            f"machines from {cut:%Y-%m-%d %H:%M}; fitting on the workers"
        )
        fitted = client.submit(_fit_task, config, feature_definition, *train, pure=False)
        measured = client.submit(_evaluate_task, fitted, *validate, pure=False)
        artifact = client.submit(_first, fitted).result()
        summary = client.submit(_second, fitted).result()
        say("validated on the held-out machines")
        metrics = measured.result()
    validation_end = metrics.pop("_end")
    metrics.pop("_rows")
    validation = ValidationSet(held, cut, validation_end, seen, config.horizon_hours)
    metrics["validation_machines"] = len(held)
    metrics["training"] = {
        **{k: summary[k] for k in ("rows", "rows_classifier", "rows_rul", "machines")},
        "rul_cap_hours": summary["rul_cap_hours"],
        "seconds": round(time.perf_counter() - started, 3),
    }
    params = {
        "models": config.model_dump(mode="json"),
        "validation": validation.to_json(),
        "features": len(artifact.feature_names),
    }
    say(_summary(metrics))
    return TrainingResult(
        artifact=artifact,
        feature_version=feature_version,
        trained_from=summary["from"],
        trained_to=summary["to"],
        params=params,
        metrics=metrics,
        validation=validation,
    )


def _rows(part: Part) -> int:
    return len(part[1])
