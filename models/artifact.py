"""A trained model as data: LightGBM text models, the calibration map, names, drift reference,
the conformal offsets of ``rul_low`` and the feature definition (with its regime statistics).

What the registry stores and what scoring runs. Everything is JSON (the boosters in LightGBM's
own text format, the isotonic thresholds or Platt's a, b as numbers), so a model can be read,
diffed and loaded by any LightGBM without unpickling code from a database. Training builds its
artifact through the same text round trip, so the model validated in training, the one stored
and the one loaded for scoring predict exactly the same numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd

from models.attribution import PathAttribution, top_k
from models.conformal import ConformalOffsets
from models.drift import FeatureReference
from models.drift_table import DriftTable
from models.errors import ModelInputError
from models.lgbm import aligned_matrix

if TYPE_CHECKING:  # training estimators (scikit-learn): not needed to score an artifact
    from models.risk import FailureRiskClassifier
    from models.rul import RulRegressor

FORMAT = "millwright-model/1"


class ScoringBooster(Protocol):
    """What scoring asks of a booster: ``lightgbm.Booster`` (the centre) and
    :class:`models.native_booster.NativeBooster` (the edge) both answer it, with equal numbers."""

    def predict(
        self,
        matrix: np.ndarray,
        /,
        *,
        raw_score: bool = False,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
    ) -> Any: ...

    def current_iteration(self) -> int: ...

    def dump_model(
        self, num_iteration: int | None = ..., start_iteration: int = ...
    ) -> dict[str, Any]: ...


BoosterFactory = Callable[[str], ScoringBooster]


@dataclass(frozen=True)
class Calibration:
    """The map from the booster's output to ``p_fail`` that scikit-learn fitted.

    scikit-learn calibrates ``decision_function`` when the estimator has one (LightGBM >= 4.7:
    the raw log-odds) and ``predict_proba`` otherwise; ``score`` records which.
    """

    method: Literal["isotonic", "sigmoid"]
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 0.0
    b: float = 0.0
    score: Literal["raw", "probability"] = "raw"

    def __post_init__(self) -> None:
        if self.score not in ("raw", "probability"):
            raise ValueError(f"calibration score must be raw or probability: {self.score}.")
        if self.method == "isotonic" and (not self.x or len(self.x) != len(self.y)):
            raise ValueError("isotonic calibration needs equally many, non-empty x and y.")
        if self.method not in ("isotonic", "sigmoid"):
            raise ValueError(f"calibration method must be isotonic or sigmoid: {self.method}.")

    @classmethod
    def from_sklearn(cls, method: str, calibrator: Any, estimator: Any) -> Calibration:
        """From the calibrator and estimator inside a fitted ``CalibratedClassifierCV``."""
        score: Literal["raw", "probability"] = (
            "raw" if hasattr(estimator, "decision_function") else "probability"
        )
        if method == "isotonic":
            return cls(
                "isotonic",
                tuple(float(v) for v in calibrator.X_thresholds_),
                tuple(float(v) for v in calibrator.y_thresholds_),
                score=score,
            )
        return cls("sigmoid", a=float(calibrator.a_), b=float(calibrator.b_), score=score)

    def p_fail(self, booster: ScoringBooster, matrix: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of the booster's predictions for ``matrix``."""
        raw = self.score == "raw"
        return self.apply(np.asarray(booster.predict(matrix, raw_score=raw)))

    def apply(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities in [0, 1] (isotonic clips outside its thresholds)."""
        if self.method == "isotonic":
            out = np.interp(p, np.asarray(self.x), np.asarray(self.y))
        else:
            out = 1.0 / (1.0 + np.exp(self.a * p + self.b))
        return np.clip(out, 0.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        if self.method == "isotonic":
            return {"method": "isotonic", "score": self.score, "x": list(self.x), "y": list(self.y)}
        return {"method": "sigmoid", "score": self.score, "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Calibration:
        return cls(
            doc["method"],
            tuple(doc.get("x", ())),
            tuple(doc.get("y", ())),
            float(doc.get("a", 0.0)),
            float(doc.get("b", 0.0)),
            doc.get("score", "raw"),
        )


@dataclass(frozen=True)
class Predictions:
    """Per row: calibrated ``p_fail``, ``rul`` and ``rul_low`` (hours, 0 <= rul_low <= rul)."""

    p_fail: np.ndarray
    rul: np.ndarray
    rul_low: np.ndarray


def python_booster(text: str) -> ScoringBooster:
    """LightGBM's Python ``Booster`` (imported here: the edge scores without the package)."""
    from lightgbm import Booster

    booster: ScoringBooster = Booster(model_str=text)
    return booster


class ModelArtifact:
    """The three boosters, the calibration and what they need to be used and watched."""

    def __init__(
        self,
        *,
        feature_names: tuple[str, ...],
        classifier: str,
        calibration: Calibration,
        rul: str,
        rul_low: str,
        horizon_hours: float,
        quantile: float,
        reference: dict[str, FeatureReference],
        rul_cap_hours: float | None = None,
        conformal: ConformalOffsets | None = None,
        feature_definition: dict[str, Any] | None = None,
        booster: BoosterFactory = python_booster,
    ) -> None:
        if not feature_names:
            raise ValueError("a model artifact needs at least one feature name.")
        self.feature_names = tuple(feature_names)
        self.calibration = calibration
        self.horizon_hours = float(horizon_hours)
        self.quantile = float(quantile)
        self.rul_cap_hours = rul_cap_hours
        self.reference = reference
        self.conformal = conformal or ConformalOffsets.none(float(quantile) or 0.1)
        self.feature_definition = feature_definition
        self._texts = {"classifier": classifier, "rul": rul, "rul_low": rul_low}
        self._booster = booster

    # The boosters are loaded on first use: the registry's copy of an artifact (the edge
    # refreshing its local copy, a promotion check) often only reads or forwards the document.

    @cached_property
    def classifier(self) -> ScoringBooster:
        return self._booster(self._texts["classifier"])

    @cached_property
    def rul(self) -> ScoringBooster:
        return self._booster(self._texts["rul"])

    @cached_property
    def rul_low(self) -> ScoringBooster:
        return self._booster(self._texts["rul_low"])

    # --- building and serialising -------------------------------------------------------

    @classmethod
    def from_estimators(
        cls,
        classifier: FailureRiskClassifier,
        regressor: RulRegressor,
        *,
        horizon_hours: float,
        reference: dict[str, FeatureReference],
        rul_cap_hours: float | None = None,
        conformal: ConformalOffsets | None = None,
        feature_definition: dict[str, Any] | None = None,
    ) -> ModelArtifact:
        """From fitted estimators; the boosters go through their text form here."""
        names = tuple(str(c) for c in classifier.feature_names_in_)
        if tuple(str(c) for c in regressor.feature_names_in_) != names:
            raise ModelInputError("classifier and RUL regressor were fitted on different columns")
        fitted = classifier.calibrated_.calibrated_classifiers_[0]
        return cls(
            feature_names=names,
            classifier=classifier.booster_.model_to_string(),
            calibration=Calibration.from_sklearn(
                classifier.calibration, fitted.calibrators[0], fitted.estimator
            ),
            rul=regressor.centre_.booster_.model_to_string(),
            rul_low=regressor.low_.booster_.model_to_string(),
            horizon_hours=horizon_hours,
            quantile=float(regressor.quantile or 0.0),
            reference=reference,
            rul_cap_hours=rul_cap_hours,
            conformal=conformal,
            feature_definition=feature_definition,
        )

    def to_json(self) -> dict[str, Any]:
        """The stored document (JSON types only)."""
        return {
            "format": FORMAT,
            "feature_names": list(self.feature_names),
            "horizon_hours": self.horizon_hours,
            "quantile": self.quantile,
            "rul_cap_hours": self.rul_cap_hours,
            "classifier": {
                "booster": self._texts["classifier"],
                "calibration": self.calibration.to_json(),
            },
            "rul": {
                "median": self._texts["rul"],
                "low": self._texts["rul_low"],
                "conformal": self.conformal.to_json(),
            },
            "feature_definition": self.feature_definition,
            "drift_reference": {
                name: {"edges": list(ref.edges), "expected": list(ref.expected)}
                for name, ref in self.reference.items()
            },
        }

    @classmethod
    def from_json(
        cls, doc: dict[str, Any], *, booster: BoosterFactory = python_booster
    ) -> ModelArtifact:
        """Inverse of :meth:`to_json`; ``booster`` loads the boosters' text models (the edge
        passes :class:`models.native_booster.NativeBooster`)."""
        if doc.get("format") != FORMAT:
            raise ModelInputError(
                f"model artifact format {doc.get('format')!r} is not {FORMAT!r}; retrain it"
            )
        return cls(
            feature_names=tuple(doc["feature_names"]),
            classifier=doc["classifier"]["booster"],
            calibration=Calibration.from_json(doc["classifier"]["calibration"]),
            rul=doc["rul"]["median"],
            rul_low=doc["rul"]["low"],
            horizon_hours=doc["horizon_hours"],
            quantile=doc["quantile"],
            rul_cap_hours=doc.get("rul_cap_hours"),
            conformal=(
                ConformalOffsets.from_json(doc["rul"]["conformal"])
                if doc["rul"].get("conformal")
                else None
            ),
            feature_definition=doc.get("feature_definition"),
            reference={
                name: FeatureReference(tuple(ref["edges"]), tuple(ref["expected"]))
                for name, ref in doc["drift_reference"].items()
            },
            booster=booster,
        )

    def digest(self) -> str:
        """SHA-256 of the canonical document: equal models have equal digests."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    # --- using ---------------------------------------------------------------------------

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Features in the model's column order (absent ones NaN)."""
        return aligned_matrix(X, self.feature_names)

    def predict_matrix(self, matrix: np.ndarray) -> Predictions:
        """All three outputs for an aligned matrix: one LightGBM call per booster."""
        p_fail = self.calibration.p_fail(self.classifier, matrix)
        # at most the cap the targets were cut at: linear leaves extrapolate past the range
        # they were fit on, and no target above the cap was ever seen
        rul = np.clip(np.asarray(self.rul.predict(matrix)), 0.0, self.rul_cap_hours)
        raw = np.asarray(self.rul_low.predict(matrix))
        low = np.minimum(np.clip(self.conformal.apply(raw), 0.0, None), rul)
        return Predictions(p_fail, rul, low)

    def predict(self, X: pd.DataFrame) -> Predictions:
        return self.predict_matrix(self.matrix(X))

    @cached_property
    def drift_table(self) -> DriftTable:
        """The drift reference as arrays (built on first use)."""
        return DriftTable(self.reference, self.feature_names)

    @cached_property
    def _path_attribution(self) -> PathAttribution:
        return PathAttribution(self.classifier)

    def contributions(
        self, matrix: np.ndarray, method: Literal["path", "shap"] = "path"
    ) -> np.ndarray:
        """Per-row, per-feature push on the classifier's log-odds (the risk drivers)."""
        if method == "shap":
            raw = np.asarray(self.classifier.predict(matrix, pred_contrib=True))
            return raw[:, :-1]
        return self._path_attribution.contributions(matrix)

    def top_features(
        self, matrix: np.ndarray, k: int, method: Literal["path", "shap"] = "path"
    ) -> list[list[dict[str, float | str | None]]]:
        """The ``k`` strongest risk drivers per row as ``{"feature", "contribution", "value"}``."""
        return top_k(self.contributions(matrix, method), matrix, self.feature_names, k)
