"""Training on an existing Dask cluster with ``lightgbm.dask`` (``train --dask ADDRESS``).

What runs where:

- **Reading.** The feature frames are read by the Dask workers, one task per machine
  partition, each straight from the database with a connection of its own. The frames are
  then gathered to the driver, because the hold-out split and the classifier's calibration
  folds are decided over all rows (both are cheap next to the boosting).
- **Boosting.** Every LightGBM fit — the classifier in each calibration fold and its refit,
  the RUL median and low-quantile boosters — runs data-parallel on the workers through
  ``lightgbm.dask`` (``tree_learner = data``), its rows spread over every worker.
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
import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor

from features import load_training_frame
from millwright.core.storage import Database
from models.config import ModelsConfig
from models.estimators import risk_classifier, rul_regressor
from models.risk import FailureRiskClassifier
from models.rul import RulRegressor
from models.training import TrainingResult, train_model

log = logging.getLogger(__name__)

__all__ = ["DaskTraining", "train_model_dask"]


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


def _load_part(
    url: str, version: str, start: datetime, end: datetime, machines: list[int], kw: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs on a Dask worker: one machine partition's frame, read with its own connection."""
    database = Database(url, min_size=0, max_size=1)
    try:
        return load_training_frame(database, version, start, end, machine_ids=machines, **kw)
    finally:
        database.close()


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

    def frame_loader(self, url: str) -> Any:
        """A drop-in for :func:`load_training_frame` that reads on the workers."""

        def load(
            database: Database,
            version: str,
            start: datetime,
            end: datetime,
            *,
            machine_ids: Sequence[int] | None = None,
            **kw: Any,
        ) -> tuple[pd.DataFrame, pd.DataFrame]:
            ids = list(machine_ids) if machine_ids is not None else _machine_ids(database)
            parts = [ids[i :: self.partitions] for i in range(self.partitions)]
            parts = [sorted(p) for p in parts if p]
            futures = self.client.map(
                _load_part,
                [url] * len(parts),
                [version] * len(parts),
                [start] * len(parts),
                [end] * len(parts),
                parts,
                [kw] * len(parts),
                pure=False,
            )
            frames = self.client.gather(futures)
            X = pd.concat([f[0] for f in frames], ignore_index=True)
            labels = pd.concat([f[1] for f in frames], ignore_index=True)
            # the same row order as one query over every machine (deterministic splits)
            order = labels.sort_values(["machine_id", "ts"], kind="stable").index.to_numpy()
            return X.iloc[order].reset_index(drop=True), labels.iloc[order].reset_index(drop=True)

        return load


def _machine_ids(database: Database) -> list[int]:
    return [int(r[0]) for r in database.execute("SELECT id FROM machines ORDER BY id")]


def train_model_dask(
    database: Database, config: ModelsConfig, address: str, **kwargs: Any
) -> TrainingResult:
    """:func:`models.training.train_model` with reading and boosting on the Dask cluster."""
    with DaskTraining(address) as dask:
        log.info("training on the Dask cluster at %s", address)
        with dask.client.as_current():
            return train_model(
                database,
                config,
                frame_loader=dask.frame_loader(database.url),
                estimators=(_dask_classifier, _dask_regressor),
                **kwargs,
            )
