"""C-MAPSS: file format, causal features, and the eval command end to end on small files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from bench.cli import register
from bench.cmapss import (
    COLUMNS,
    RUL_CAP,
    CmapssFeaturizer,
    last_cycles,
    read_cmapss,
    read_rul,
    rul_target,
    truncate_units,
)
from millwright.core.commands import CliGroups
from models.errors import CmapssFormatError

# The compressed copy of NASA's train_FD001.txt the simulator ships (public domain).
FD001 = Path(__file__).resolve().parents[2] / "sim" / "data" / "train_FD001.txt.gz"


@pytest.fixture(scope="module")
def fd001() -> pd.DataFrame:
    return read_cmapss(FD001)


def _write_nasa(frame: pd.DataFrame, path: Path) -> None:
    """NASA's layout: space-separated, integers for unit/cycle, trailing spaces."""
    lines = []
    for row in frame.itertuples(index=False):
        values = [f"{int(row[0])}", f"{int(row[1])}", *(f"{v:.4f}" for v in row[2:])]
        lines.append(" ".join(values) + "  ")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def nasa_files(fd001: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train on engines 1-20; engines 31-40 truncated as a test file with its RUL file."""
    folder = tmp_path_factory.mktemp("cmapss")
    train = fd001[fd001["unit"] <= 20]
    test, truth = truncate_units(fd001[(fd001["unit"] > 30) & (fd001["unit"] <= 40)], seed=3)
    paths = {"train": folder / "train.txt", "test": folder / "test.txt", "rul": folder / "rul.txt"}
    _write_nasa(train, paths["train"])
    _write_nasa(test, paths["test"])
    paths["rul"].write_text("".join(f"{int(r)} \n" for r in truth))
    return paths


def _cli() -> typer.Typer:
    root, bench, evaluation = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(evaluation, name="eval")
    root.add_typer(bench, name="bench")
    register(CliGroups(root=root, bench=bench, eval=evaluation))
    return root


def test_read_cmapss_layout(fd001: pd.DataFrame) -> None:
    assert list(fd001.columns) == list(COLUMNS)
    assert fd001["unit"].nunique() == 100
    assert len(fd001) == 20631
    assert fd001.groupby("unit")["cycle"].min().eq(1).all()


def test_read_cmapss_rejects_other_layouts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 1 0.1 0.2\n1 2 0.1 0.2\n")
    with pytest.raises(CmapssFormatError, match="expected 26"):
        read_cmapss(bad)
    with pytest.raises(CmapssFormatError, match="expected one RUL"):
        read_rul(bad)


def test_rul_target_is_capped(fd001: pd.DataFrame) -> None:
    unit1 = fd001[fd001["unit"] == 1]
    target = rul_target(unit1)
    assert target[-1] == 0 and target[-2] == 1
    assert target.max() == RUL_CAP
    assert rul_target(unit1, cap=None)[0] == len(unit1) - 1


def test_truncation_matches_the_official_test_set(fd001: pd.DataFrame) -> None:
    cut, truth = truncate_units(fd001, seed=0)
    lengths = cut.groupby("unit")["cycle"].max().to_numpy()
    full = fd001.groupby("unit")["cycle"].max().to_numpy()
    np.testing.assert_array_equal(full - lengths, truth)
    assert truth.min() >= 7 and truth.max() <= 145
    assert lengths.min() >= 31
    np.testing.assert_array_equal(cut.iloc[last_cycles(cut)]["cycle"].to_numpy(), lengths)


def test_features_are_causal_and_order_free(fd001: pd.DataFrame) -> None:
    sample = fd001[fd001["unit"] <= 5]
    featurizer = CmapssFeaturizer().fit(sample)
    full = featurizer.transform(sample)
    cut, _ = truncate_units(sample, seed=1)
    at_cut = featurizer.transform(cut)
    rows = sample.reset_index(drop=True).merge(cut[["unit", "cycle"]], on=["unit", "cycle"])
    assert len(rows) == len(cut)
    key = sample.reset_index(drop=True).set_index(["unit", "cycle"]).index
    positions = key.get_indexer(pd.MultiIndex.from_frame(cut[["unit", "cycle"]]))
    np.testing.assert_allclose(at_cut.to_numpy(), full.iloc[positions].to_numpy(), rtol=1e-9)
    shuffled = sample.sample(frac=1.0, random_state=0)
    again = featurizer.transform(shuffled)
    np.testing.assert_allclose(
        again.to_numpy(), full.iloc[shuffled.index.to_numpy()].to_numpy(), rtol=1e-9
    )


def test_constant_sensors_are_dropped(fd001: pd.DataFrame) -> None:
    featurizer = CmapssFeaturizer().fit(fd001)
    assert featurizer.regimes_ is None
    for constant in ("s1", "s5", "s10", "s16", "s18", "s19"):
        assert constant not in featurizer.sensors_
    assert {"s2", "s4", "s11", "s15"} <= set(featurizer.sensors_)


def test_window_statistics_by_hand() -> None:
    cycles = np.arange(1, 5)
    frame = pd.DataFrame({"unit": 1, "cycle": cycles})
    for i, name in enumerate(COLUMNS[2:]):
        frame[name] = 0.0 if i < 3 else 1.0
    frame["s2"] = [1.0, 2.0, 4.0, 8.0]
    featurizer = CmapssFeaturizer(windows=(2,), ewm_spans=(3,), baseline_cycles=2).fit(frame)
    featurizer.means_ = np.zeros_like(featurizer.means_)
    featurizer.stds_ = np.ones_like(featurizer.stds_)
    features = featurizer.transform(frame)
    assert featurizer.sensors_ == ["s2"]
    np.testing.assert_allclose(features["s2_mean2"], [1.0, 1.5, 3.0, 6.0])
    np.testing.assert_allclose(features["s2_slope2"], [np.nan, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(features["s2_std2"], [np.nan, 0.5**0.5, 2**0.5, 8**0.5])
    np.testing.assert_allclose(features["s2_dev2"], [0.0, 0.0, 1.5, 4.5])
    np.testing.assert_allclose(features["s2_ewm3"], pd.Series([1.0, 2, 4, 8]).ewm(span=3).mean())


def test_operating_regimes_are_found_and_normalised(fd001: pd.DataFrame) -> None:
    sample = fd001[fd001["unit"] <= 10].copy()
    regime = (sample["cycle"] % 3).to_numpy()
    sample["setting1"] = np.array([0.0, 20.0, 42.0])[regime]
    sample["s2"] = sample["s2"] + 50.0 * regime  # a regime shift, not wear
    featurizer = CmapssFeaturizer().fit(sample)
    assert featurizer.regimes_ is not None and featurizer.regimes_.n_clusters == 3
    normalised = featurizer.transform(sample)["s2"]
    means = normalised.groupby(regime).mean().to_numpy()
    np.testing.assert_allclose(means, 0.0, atol=1e-9)


def test_eval_cmapss_with_test_and_rul_files(nasa_files: dict[str, Path]) -> None:
    args = ["eval", "cmapss", "--train", str(nasa_files["train"])]
    args += ["--test", str(nasa_files["test"]), "--rul", str(nasa_files["rul"]), "--json"]
    args += ["--trees", "60"]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"rmse", "phm08_score", "train_seconds"} <= set(payload)
    assert payload["engines"] == 10
    assert 0 < payload["rmse"] < 35
    assert payload["phm08_score"] > 0
    assert payload["train_seconds"] > 0


def test_eval_cmapss_cross_validation(nasa_files: dict[str, Path]) -> None:
    args = [
        "eval",
        "cmapss",
        "--train",
        str(nasa_files["train"]),
        "--cv",
        "2",
        "--json",
        "--trees",
        "60",
    ]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["engines"] == 20
    assert len(payload["fold_rmse"]) == 2
    assert payload["rmse"] < 35


def test_eval_cmapss_needs_one_mode(nasa_files: dict[str, Path]) -> None:
    args = ["eval", "cmapss", "--train", str(nasa_files["train"])]
    assert CliRunner().invoke(_cli(), args).exit_code == 2
    result = CliRunner().invoke(_cli(), [*args, "--test", str(nasa_files["test"])])
    assert result.exit_code == 2
    bad = CliRunner().invoke(_cli(), [*args, "--test", str(nasa_files["rul"]), "--rul", "x"])
    assert bad.exit_code == 2
