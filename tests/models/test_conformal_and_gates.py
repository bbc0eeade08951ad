"""Conformal rul_low, honest promotion gates and PSI's minimum population (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.config import LightGBMParams, ModelsConfig
from models.conformal import ConformalOffsets, calibrate, conformal_quantile
from models.holdout import default_cap, evaluate
from models.promotion import Gates, coverage_band, gate
from models.scoring import drift_summary
from models.training import fit_artifact
from tests.models.conftest import FEATURES, HORIZON, synthetic_plant

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _labels(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "machine_id": frame["machine"].str[1:].astype(int).to_numpy(),
            "ts": pd.DatetimeIndex(T0 + pd.to_timedelta(frame["t"], unit="h")),
            "failed_within_h": pd.array(frame["rul"] <= HORIZON, dtype="boolean"),
            "rul": frame["rul"].to_numpy(dtype=float),
            "rul_lower": frame["rul"].to_numpy(dtype=float),
            "censored": np.zeros(len(frame), dtype=bool),
            "down": np.zeros(len(frame), dtype=bool),
        }
    )


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    scores = np.arange(1.0, 11.0)  # n = 10, alpha 0.1: rank ceil(11 * 0.9) = 10
    assert conformal_quantile(scores, 0.1) == 10.0
    assert conformal_quantile(scores, 0.3) == 8.0  # ceil(11 * 0.7) = 8
    assert conformal_quantile(np.array([3.0]), 0.1) == 3.0  # rank beyond n: the maximum
    offsets = calibrate(np.arange(10.0), np.arange(10.0) - 1.0, 0.1, bins=1)
    assert offsets.offsets == (1.0,) and offsets.rows == (10,)
    np.testing.assert_array_equal(offsets.apply(np.array([5.0])), [4.0])
    assert ConformalOffsets.from_json(offsets.to_json()) == offsets


def test_conformal_rul_low_covers_held_out_machines_within_the_band() -> None:
    plant = synthetic_plant(seed=11, machines=160)
    labels = _labels(plant)
    X = plant[FEATURES]
    train = labels["machine_id"].to_numpy() < 80
    config = ModelsConfig(
        horizon_hours=float(HORIZON),
        lightgbm=LightGBMParams(n_estimators=60, num_leaves=15, n_jobs=2),
    )
    artifact = fit_artifact(
        X[train].reset_index(drop=True), labels[train].reset_index(drop=True), config
    )
    assert artifact.rul_cap_hours == pytest.approx(
        default_cap(labels[train], config.rul_cap_quantile)
    )
    assert sum(artifact.conformal.rows) > 1000
    held = ~train
    metrics = evaluate(
        artifact,
        X[held].reset_index(drop=True),
        labels[held].reset_index(drop=True),
        rul_cap_hours=artifact.rul_cap_hours,
    )
    coverage = metrics["rul"]["coverage_below_cap"]
    assert abs(coverage - 0.90) <= 0.03, coverage
    # the offsets come from out-of-fold predictions: they move the bound, bin by bin
    assert any(abs(o) > 0.1 for o in artifact.conformal.offsets)
    assert metrics["classifier"]["brier"] < metrics["classifier"]["brier_base_rate"]
    # linear leaves extrapolate far outside the training range; rul stays within the cap
    assert artifact.rul_cap_hours is not None  # the training labels have observed lives
    far = artifact.matrix(X[held].reset_index(drop=True)) * 100.0
    assert np.abs(artifact.rul.predict(far)).max() > 2 * artifact.rul_cap_hours
    assert artifact.predict_matrix(far).rul.max() <= artifact.rul_cap_hours


GOOD: dict[str, Any] = {
    "classifier": {"brier": 0.02, "brier_base_rate": 0.15, "roc_auc": 0.97, "pr_auc": 0.9},
    "rul": {"rmse": 9.0, "coverage": 0.95, "coverage_below_cap": 0.91},
    "validation_machines": 5,
}


def test_gates_refuse_what_was_not_measured_or_is_not_good_enough() -> None:
    gates = Gates(min_machines=3, coverage_band=0.05)
    assert gate(GOOD, 0.1, gates) is None
    assert "no validation metrics" in (gate({"classifier": None, "rul": None}, 0.1, gates) or "")
    assert "p_fail" in (gate({**GOOD, "classifier": None}, 0.1, gates) or "")
    few = gate({**GOOD, "validation_machines": 2}, 0.1, gates) or ""
    assert "2 machine(s)" in few and "promotion_min_machines = 3" in few
    no_skill = {**GOOD, "classifier": {**GOOD["classifier"], "brier": 0.16}}
    assert "base rate" in (gate(no_skill, 0.1, gates) or "")
    off = {**GOOD, "rul": {**GOOD["rul"], "coverage_below_cap": 0.80}}
    assert "outside 0.90 ± 0.05" in (gate(off, 0.1, gates) or "")


def test_coverage_gate_tolerates_only_the_spread_of_the_held_out_lives() -> None:
    # 100 lives: two standard errors (0.06) -> 0.80 is refused; 2 lives (± 0.42): not evidence
    many = {**GOOD, "rul": {**GOOD["rul"], "coverage_below_cap": 0.80, "lives_below_cap": 100}}
    reason = gate(many, 0.1, Gates()) or ""
    assert "from 100 held-out lives" in reason and "± 0.06" in reason
    few = {**GOOD, "rul": {**GOOD["rul"], "coverage_below_cap": 0.56, "lives_below_cap": 2}}
    assert gate(few, 0.1, Gates()) is None
    assert coverage_band(0.05, 0.1, 2) == pytest.approx(2 * (0.09 / 2) ** 0.5)
    assert coverage_band(0.05, 0.1, 10_000) == 0.05
    assert coverage_band(0.05, 0.1, None) == 0.05


def test_validation_counts_the_lives_its_coverage_rests_on() -> None:
    plant = synthetic_plant(seed=3, machines=12)
    labels = _labels(plant)
    config = ModelsConfig(
        horizon_hours=float(HORIZON),
        lightgbm=LightGBMParams(n_estimators=20, n_jobs=1),
        conformal_folds=3,
    )
    train = labels["machine_id"].to_numpy() < 9
    artifact = fit_artifact(
        plant[FEATURES][train].reset_index(drop=True), labels[train].reset_index(drop=True), config
    )
    held = labels[~train].reset_index(drop=True)
    metrics = evaluate(
        artifact,
        plant[FEATURES][~train].reset_index(drop=True),
        held,
        rul_cap_hours=artifact.rul_cap_hours,
    )
    short = held["rul"] < artifact.rul_cap_hours
    failures = (
        held.loc[short, "machine_id"].astype(str)
        + "@"
        + (held.loc[short, "ts"] + pd.to_timedelta(held.loc[short, "rul"], unit="h")).astype(str)
    )
    assert metrics["rul"]["lives_below_cap"] == failures.nunique() >= 3


def test_psi_refuses_tiny_populations() -> None:
    plant = synthetic_plant(seed=2, machines=12)
    labels = _labels(plant)
    config = ModelsConfig(
        horizon_hours=float(HORIZON),
        lightgbm=LightGBMParams(n_estimators=20, num_leaves=7, n_jobs=2),
    )
    artifact = fit_artifact(plant[FEATURES], labels, config)
    matrix = artifact.matrix(plant[FEATURES])
    small = drift_summary(artifact, matrix[:5], min_rows=200)
    assert small["max_psi"] is None and small["status"].startswith("not enough data")
    assert small["rows"] == 5
    enough = drift_summary(artifact, matrix[:400], min_rows=200)
    assert enough["status"] == "ok" and enough["max_psi"] is not None
