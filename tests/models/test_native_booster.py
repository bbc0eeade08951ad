"""The edge's booster (LightGBM's C library through ctypes) against LightGBM's Python package:
equal numbers, bit for bit, for every prediction kind scoring uses; and the edge's scoring path
loads neither that package nor scipy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from models.attribution import PathAttribution
from models.native_booster import NativeBooster, library_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_text() -> str:
    """A seeded binary model with missing values and repeated splits on a feature."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(1500, 12))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (X[:, 0] + np.nan_to_num(X[:, 1]) * X[:, 2] + rng.normal(size=1500) > 0.3).astype(int)
    params = {"objective": "binary", "num_leaves": 15, "verbosity": -1, "seed": 3}
    params |= {"deterministic": True, "force_row_wise": True, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(X, y), num_boost_round=60).model_to_string()


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    rng = np.random.default_rng(8)
    matrix = rng.normal(size=(97, 12))
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    return matrix


@pytest.mark.parametrize(
    "kind", [{}, {"raw_score": True}, {"pred_leaf": True}, {"pred_contrib": True}]
)
def test_native_predictions_equal_lightgbm_bit_for_bit(
    model_text: str, rows: np.ndarray, kind: dict[str, bool]
) -> None:
    want = lgb.Booster(model_str=model_text).predict(rows, **kind)
    got = NativeBooster(model_text).predict(rows, **kind)
    assert isinstance(want, np.ndarray)  # a dense matrix gives a dense answer
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_native_predictions_of_other_layouts_and_float32(model_text: str, rows: np.ndarray) -> None:
    python, native = lgb.Booster(model_str=model_text), NativeBooster(model_text)
    for matrix in (np.asfortranarray(rows), rows.astype(np.float32), rows[::2]):
        want = python.predict(matrix)
        assert isinstance(want, np.ndarray)
        assert native.predict(matrix).tobytes() == want.tobytes()


def test_native_dump_and_path_attribution_equal_lightgbm(model_text: str, rows: np.ndarray) -> None:
    python, native = lgb.Booster(model_str=model_text), NativeBooster(model_text)
    dump = python.dump_model()
    dump.pop("pandas_categorical")
    assert native.dump_model() == dump
    via_python = PathAttribution(python)
    via_native = PathAttribution(native)
    assert via_native.bias == via_python.bias
    contributions = via_native.contributions(rows)
    assert contributions.tobytes() == via_python.contributions(rows).tobytes()
    # contributions plus bias are the raw score (path attribution's own invariant)
    np.testing.assert_allclose(
        contributions.sum(axis=1) + via_native.bias,
        python.predict(rows, raw_score=True),
        atol=1e-9,
    )


def test_path_attribution_read_in_chunks_of_iterations_is_the_whole_dump_s(
    model_text: str, rows: np.ndarray
) -> None:
    """The table is built from the trees dumped a few iterations at a time (the edge's peak
    memory): the same table, bit for bit, as from one dump of the whole model."""
    python, native = lgb.Booster(model_str=model_text), NativeBooster(model_text)
    assert native.current_iteration() == python.current_iteration() == 60
    assert native.dump_model(num_iteration=7, start_iteration=14) == {
        k: v for k, v in python.dump_model(7, 14).items() if k != "pandas_categorical"
    }
    whole = PathAttribution(python, chunk=1000)
    for booster, chunk in ((native, 7), (native, 1), (python, 13), (native, 60)):
        part = PathAttribution(booster, chunk=chunk)
        assert part.bias == whole.bias
        for name in ("_offsets", "_indptr", "_features", "_deltas"):
            assert getattr(part, name).tobytes() == getattr(whole, name).tobytes(), name
        assert part.contributions(rows).tobytes() == whole.contributions(rows).tobytes()
    with pytest.raises(ValueError, match="one iteration"):
        PathAttribution(native, chunk=0)


def test_a_broken_model_is_the_library_s_error() -> None:
    with pytest.raises(RuntimeError):
        NativeBooster("not a model")


def test_the_library_is_found_without_importing_lightgbm() -> None:
    code = textwrap.dedent(
        """
        import sys
        from models.native_booster import library_path
        print(library_path().name, "lightgbm" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == [library_path().name, "False"]


def test_edge_scoring_loads_neither_scipy_nor_lightgbm_s_python_package(
    model_text: str, rows: np.ndarray, tmp_path: Path
) -> None:
    """A model artifact loaded as the edge loads it scores and explains in a process where
    scipy and lightgbm (the Python package) never appear in ``sys.modules``."""
    import json

    from models.artifact import Calibration, ModelArtifact

    artifact = ModelArtifact(
        feature_names=tuple(f"f{i}" for i in range(12)),
        classifier=model_text,
        calibration=Calibration("sigmoid", a=-1.0, b=0.0),
        rul=model_text,
        rul_low=model_text,
        horizon_hours=24.0,
        quantile=0.1,
        reference={},
    )
    (tmp_path / "artifact.json").write_text(json.dumps(artifact.to_json()))
    np.save(tmp_path / "rows.npy", rows)
    code = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        from edge.lean import keep_out
        keep_out()
        import edge.scoring, edge.service, edge.window
        from models import ModelArtifact, NativeBooster
        doc = json.loads(open({str(tmp_path / "artifact.json")!r}).read())
        artifact = ModelArtifact.from_json(doc, booster=NativeBooster)
        rows = np.load({str(tmp_path / "rows.npy")!r})
        p = artifact.predict_matrix(rows)
        top = artifact.top_features(rows, 3)
        np.save({str(tmp_path / "p.npy")!r}, np.stack([p.p_fail, p.rul, p.rul_low]))
        json.dump(top, open({str(tmp_path / "top.json")!r}, "w"))
        loaded = [m for m in sys.modules if m.split(".")[0] in ("scipy", "lightgbm", "narwhals")]
        print(json.dumps([m for m in loaded if sys.modules[m] is not None]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    central = artifact.predict_matrix(rows)  # lightgbm's Python Booster, in this process
    edge = np.load(tmp_path / "p.npy")
    want = np.stack([central.p_fail, central.rul, central.rul_low])
    assert edge.tobytes() == want.tobytes()
    assert json.loads((tmp_path / "top.json").read_text()) == artifact.top_features(rows, 3)
