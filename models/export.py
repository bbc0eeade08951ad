"""A registered model for other runtimes: LightGBM's native text models with a JSON sidecar, or
ONNX (``onnxmltools``) for third-party runtimes such as onnxruntime or TwinCAT ML.

Both formats write the three boosters (the failure classifier, the RUL median and the RUL low
quantile) and one sidecar, ``<version>.json``, that says what the boosters alone do not: the
input column order (``feature_names``), the feature definition that computes those columns
from readings (windows, baselines, regime normalisation), and the transforms applied to the
boosters' outputs (the probability calibration of ``p_fail``, the conformal offsets of
``rul_low``, the clipping ``0 <= rul_low <= rul``). The sidecar is the artifact's own JSON
minus the booster texts, so it cannot drift from what :mod:`models.scoring` runs.

ONNX inputs are float32 (LightGBM's converter takes only float tensors); the classifier's ONNX
output is the uncalibrated probability (``probabilities[:, 1]``), which the sidecar's
calibration turns into ``p_fail``. ONNX tree ensembles have constant leaves, so a central RUL
booster with linear leaves (``models.rul_linear_leaves``, the default) is refused rather than
exported with its leaf models silently dropped: export it as ``lightgbm``, or train with
``rul_linear_leaves = false`` for an ONNX runtime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models.artifact import ModelArtifact
from models.errors import ModelsError

Format = Literal["lightgbm", "onnx"]
BOOSTERS = ("classifier", "rul", "rul_low")
SIDECAR_FORMAT = "millwright-export/1"


class ExportError(ModelsError):
    """A model could not be exported (missing converter, unwritable directory)."""


@dataclass(frozen=True)
class ExportResult:
    """The files one export wrote."""

    version: str
    format: Format
    sidecar: Path
    boosters: dict[str, Path]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "format": self.format,
            "sidecar": str(self.sidecar),
            "boosters": {k: str(v) for k, v in self.boosters.items()},
        }


def sidecar(artifact: ModelArtifact, version: str, fmt: Format, files: dict[str, str]) -> dict:
    """The JSON sidecar: inputs, feature definition and output transforms of ``artifact``."""
    doc = artifact.to_json()
    return {
        "format": SIDECAR_FORMAT,
        "model_format": doc["format"],
        "version": version,
        "runtime": fmt,
        "files": files,
        "feature_names": doc["feature_names"],
        "input": {
            "dtype": "float32" if fmt == "onnx" else "float64",
            "missing": "NaN",
            "columns": "feature_names, in this order",
        },
        "feature_definition": doc["feature_definition"],
        "horizon_hours": doc["horizon_hours"],
        "transforms": {
            "p_fail": {
                "calibration": doc["classifier"]["calibration"],
                "input": (
                    "raw log-odds of the classifier"
                    if artifact.calibration.score == "raw"
                    else "probability of the classifier"
                ),
                "clip": [0.0, 1.0],
            },
            "rul": {"clip_min": 0.0, "clip_max": doc["rul_cap_hours"]},
            "rul_low": {
                "quantile": doc["quantile"],
                "conformal": doc["rul"]["conformal"],
                "clip_min": 0.0,
                "at_most": "rul",
            },
            "rul_cap_hours": doc["rul_cap_hours"],
        },
    }


def _texts(artifact: ModelArtifact) -> dict[str, str]:
    doc = artifact.to_json()
    return {
        "classifier": doc["classifier"]["booster"],
        "rul": doc["rul"]["median"],
        "rul_low": doc["rul"]["low"],
    }


def has_linear_leaves(model_text: str) -> bool:
    """Whether a LightGBM text model has trees with a linear model in their leaves."""
    return "\nis_linear=1\n" in model_text


def onnx_models(artifact: ModelArtifact) -> dict[str, bytes]:
    """The three boosters as serialised ONNX models (classifier without ZipMap)."""
    try:
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError as exc:
        raise ExportError(
            "ONNX export needs onnxmltools and onnx; install the extra: pip install "
            "'millwright[edge]'"
        ) from exc
    for name, text in _texts(artifact).items():
        if has_linear_leaves(text):
            raise ExportError(
                f"the {name} booster has linear leaves (models.rul_linear_leaves), which ONNX "
                "tree ensembles cannot express; export --format lightgbm, or retrain with "
                "[models] rul_linear_leaves = false for an ONNX runtime"
            )
    width = len(artifact.feature_names)
    out = {}
    for name, booster in (
        ("classifier", artifact.classifier),
        ("rul", artifact.rul),
        ("rul_low", artifact.rul_low),
    ):
        model = onnxmltools.convert_lightgbm(
            booster,
            name=f"millwright-{name}",
            initial_types=[("input", FloatTensorType([None, width]))],
            zipmap=False,
        )
        out[name] = model.SerializeToString()
    return out


def export_model(artifact: ModelArtifact, version: str, fmt: Format, out_dir: Path) -> ExportResult:
    """Write ``artifact`` in ``fmt`` to ``out_dir`` (created): boosters and sidecar."""
    if fmt not in ("lightgbm", "onnx"):
        raise ExportError(f"export format must be lightgbm or onnx, got {fmt!r}")
    blobs = onnx_models(artifact) if fmt == "onnx" else {}  # refusals before any file
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create export directory {out_dir}: {exc}") from exc
    boosters: dict[str, Path] = {}
    if fmt == "lightgbm":
        for name, text in _texts(artifact).items():
            path = out_dir / f"{version}.{name}.txt"
            path.write_text(text)
            boosters[name] = path
    else:
        for name, blob in blobs.items():
            path = out_dir / f"{version}.{name}.onnx"
            path.write_bytes(blob)
            boosters[name] = path
    side = out_dir / f"{version}.json"
    files = {k: p.name for k, p in boosters.items()}
    side.write_text(json.dumps(sidecar(artifact, version, fmt, files), indent=2, sort_keys=True))
    return ExportResult(version, fmt, side, boosters)


def onnx_probabilities(model: bytes, matrix: np.ndarray) -> np.ndarray:
    """onnxruntime's positive-class probability of an exported classifier for ``matrix``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    outputs = session.run(["probabilities"], {"input": matrix.astype(np.float32)})
    return np.asarray(outputs[0])[:, 1]
