"""`millwright models export`: the native LightGBM text models with a JSON sidecar, and ONNX
whose onnxruntime probabilities match LightGBM's on the model's own validation rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from lightgbm import Booster
from typer.testing import CliRunner

from features import load_training_frame
from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.export import ExportError, export_model, has_linear_leaves, onnx_probabilities
from models.registry import RegisteredModel, load_model, save_candidate
from models.training import train_model
from tests.models.test_training_plant import Plant, models_config, plant_in


@pytest.fixture(scope="module")
def plant(database_url: str) -> Iterator[Plant]:
    with plant_in(database_url) as built:
        yield built


@pytest.fixture(scope="module")
def model(plant: Plant) -> RegisteredModel:
    """The default model: its central RUL booster has linear leaves."""
    trained = train_model(plant.database, models_config(), feature_version=plant.feature_version)
    return load_model(plant.database, save_candidate(plant.database, trained).version)


@pytest.fixture(scope="module")
def onnx_model(plant: Plant) -> RegisteredModel:
    """A model trained for an ONNX runtime: constant leaves everywhere."""
    trained = train_model(
        plant.database,
        models_config(rul_linear_leaves=False),
        feature_version=plant.feature_version,
    )
    return load_model(plant.database, save_candidate(plant.database, trained).version)


def validation_matrix(database: Database, model: RegisteredModel) -> np.ndarray:
    validation = model.record.validation
    assert validation is not None
    X, _ = load_training_frame(
        database,
        model.record.feature_version,
        validation.start,
        validation.end,
        machine_ids=list(validation.machines),
        horizon_hours=validation.horizon_hours,
        observed_until=validation.observed_until,
    )
    return model.artifact.matrix(X)


def test_onnx_probabilities_match_lightgbm_on_validation_rows(
    plant: Plant, onnx_model: RegisteredModel, tmp_path: Path
) -> None:
    model = onnx_model
    result = export_model(model.artifact, model.version, "onnx", tmp_path)
    matrix = validation_matrix(plant.database, model)
    assert len(matrix) > 500
    expected = np.asarray(model.artifact.classifier.predict(matrix))
    got = onnx_probabilities(result.boosters["classifier"].read_bytes(), matrix)
    diff = float(np.max(np.abs(got - expected)))
    print(f"onnx vs lightgbm on {len(matrix)} validation rows: max abs diff {diff:.3e}")
    assert diff <= 1e-6
    side = json.loads(result.sidecar.read_text())
    assert side["feature_names"] == list(model.artifact.feature_names)
    assert side["input"]["dtype"] == "float32"
    assert side["feature_definition"] == model.artifact.feature_definition


def test_onnx_refuses_linear_leaves_instead_of_dropping_them(
    model: RegisteredModel, tmp_path: Path
) -> None:
    assert has_linear_leaves(model.artifact.to_json()["rul"]["median"])
    with pytest.raises(ExportError, match="linear leaves"):
        export_model(model.artifact, model.version, "onnx", tmp_path)
    assert not list(tmp_path.iterdir())


def test_lightgbm_export_round_trips_to_the_same_predictions(
    plant: Plant, model: RegisteredModel, tmp_path: Path
) -> None:
    result = export_model(model.artifact, model.version, "lightgbm", tmp_path)
    side = json.loads(result.sidecar.read_text())
    assert side["files"] == {
        "classifier": f"{model.version}.classifier.txt",
        "rul": f"{model.version}.rul.txt",
        "rul_low": f"{model.version}.rul_low.txt",
    }
    # Rebuild the artifact from the exported files alone: every output is identical.
    rebuilt = ModelArtifact.from_json(
        {
            "format": side["model_format"],
            "feature_names": side["feature_names"],
            "horizon_hours": side["horizon_hours"],
            "quantile": side["transforms"]["rul_low"]["quantile"],
            "rul_cap_hours": side["transforms"]["rul_cap_hours"],
            "classifier": {
                "booster": result.boosters["classifier"].read_text(),
                "calibration": side["transforms"]["p_fail"]["calibration"],
            },
            "rul": {
                "median": result.boosters["rul"].read_text(),
                "low": result.boosters["rul_low"].read_text(),
                "conformal": side["transforms"]["rul_low"]["conformal"],
            },
            "feature_definition": side["feature_definition"],
            "drift_reference": {},
        }
    )
    matrix = validation_matrix(plant.database, model)
    want, got = model.artifact.predict_matrix(matrix), rebuilt.predict_matrix(matrix)
    np.testing.assert_array_equal(got.p_fail, want.p_fail)
    np.testing.assert_array_equal(got.rul, want.rul)
    np.testing.assert_array_equal(got.rul_low, want.rul_low)
    booster = Booster(model_file=str(result.boosters["classifier"]))
    want_p = model.artifact.classifier.predict(matrix)
    np.testing.assert_array_equal(booster.predict(matrix), want_p)


def test_export_command(
    model: RegisteredModel, onnx_model: RegisteredModel, tmp_path: Path, database_url: str
) -> None:
    from millwright.app.cli import app

    refused = CliRunner().invoke(
        app,
        ["models", "export", model.version, "--format", "onnx", "--out", str(tmp_path / "x")],
        env={"MILLWRIGHT_DATABASE_URL": database_url},
    )
    assert refused.exit_code != 0
    assert "linear leaves" in refused.output
    model = onnx_model
    cli_env = {"MILLWRIGHT_DATABASE_URL": database_url}

    out = CliRunner().invoke(
        app,
        ["models", "export", model.version, "--format", "onnx", "--out", str(tmp_path), "--json"],
        env=cli_env,
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output.strip().splitlines()[-1])
    assert doc["format"] == "onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{model.version}.{b}.onnx" for b in ("classifier", "rul", "rul_low")]
        + [f"{model.version}.json"]
    )
    bad = CliRunner().invoke(
        app, ["models", "export", model.version, "--format", "pmml"], env=cli_env
    )
    assert bad.exit_code != 0
