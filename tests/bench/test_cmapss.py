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
    CYCLE,
    RUL_CAP,
    SENSORS,
    SETTINGS,
    START,
    engines_as_plant,
    features_config,
    fit_definition,
    last_cycles,
    plant_features,
    plant_labels,
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


def test_engines_load_as_a_plant(fd001: pd.DataFrame) -> None:
    sample = fd001[fd001["unit"] <= 3]
    plant = engines_as_plant(sample)
    assert plant.machines == [1, 2, 3]
    assert len(plant.readings) == len(sample) * 24  # 3 settings + 21 sensors per cycle
    one = plant.readings[(plant.readings["machine_id"] == 2) & (plant.readings["sensor_id"] == 204)]
    assert one["ts"].iloc[0] == START and one["ts"].iloc[1] == START + CYCLE
    np.testing.assert_array_equal(one["value"], sample.loc[sample["unit"] == 2, "s1"])
    failures = plant.events.set_index("machine_id")["ts"]
    assert failures[2] == START + plant.cycles[2] * CYCLE  # one cycle after the last reading
    assert set(plant.sensors["sensor"]) == {*SETTINGS, *SENSORS}


def test_plant_features_are_causal_and_labels_follow_nasa(fd001: pd.DataFrame) -> None:
    sample = fd001[fd001["unit"] <= 4]
    config = features_config()
    plant = engines_as_plant(sample)
    definition = fit_definition(plant, config)
    assert definition.regimes is not None and definition.regimes.n_regimes == 1  # FD001
    rows = plant_features(definition, plant, config.staleness_minutes)
    # one row per cycle: the instant after each cycle, none after the engine went silent
    assert rows.groupby("machine_id").size().to_dict() == plant.cycles
    labels = plant_labels(plant, rows[["machine_id", "ts"]], 30.0)
    unit1 = labels[labels["machine_id"] == 1]
    np.testing.assert_array_equal(unit1["rul"], rul_target(sample[sample["unit"] == 1], None))
    # a cut engine computed alone equals the same instant of the whole history, bit for bit
    cut, _truth = truncate_units(sample, seed=1)
    last = cut.groupby("unit")["cycle"].max()
    alone = engines_as_plant(cut, failed=False)
    for unit, cycle in last.items():
        t = alone.instant(int(unit), int(cycle))
        online = plant_features(definition, alone, 60.0, at=t, machines=[int(unit)])
        bulk = rows[(rows["machine_id"] == unit) & (rows["ts"] == t)]
        assert np.array_equal(
            online.iloc[:, 2:].to_numpy(), bulk.iloc[:, 2:].to_numpy(), equal_nan=True
        )


def test_operating_regimes_are_found_and_normalised(fd001: pd.DataFrame) -> None:
    sample = fd001[fd001["unit"] <= 10].copy()
    regime = (sample["cycle"] % 3).to_numpy()
    sample["setting1"] = np.array([0.0, 20.0, 42.0])[regime]
    sample["s2"] = sample["s2"] + 50.0 * regime  # a regime shift, not wear
    plant = engines_as_plant(sample)
    definition = fit_definition(plant, features_config())
    assert definition.regimes is not None and definition.regimes.n_regimes == 3
    rows = plant_features(definition, plant, 60.0)
    last = rows["s2__last"].to_numpy()
    by_regime = pd.Series(last).groupby(regime).mean()  # row k: the instant after cycle k
    assert by_regime.abs().max() < 1.0  # the 50-unit shifts are gone (normalised units)


@pytest.mark.slow  # trains the production model (conformal folds included) on 20 engines
def test_eval_cmapss_with_test_and_rul_files(nasa_files: dict[str, Path]) -> None:
    args = ["eval", "cmapss", "--train", str(nasa_files["train"])]
    args += ["--test", str(nasa_files["test"]), "--rul", str(nasa_files["rul"]), "--json"]
    args += ["--trees", "60"]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    keys = {"rmse", "phm08_score", "train_seconds", "rmse_capped", "q10_coverage", "brier"}
    assert keys | {"brier_base_rate", "roc_auc"} <= set(payload)
    assert payload["engines"] == 10
    assert 0 < payload["rmse"] < 35
    assert payload["phm08_score"] > 0
    assert payload["train_seconds"] > 0


@pytest.mark.slow
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
        "--rul-cap",
        "100",
    ]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["engines"] == 20
    assert len(payload["fold_rmse"]) == 2
    assert payload["rmse"] < 35
    assert payload["fold_rul_cap"] == [100.0, 100.0]  # --rul-cap pins every fold's cap
    assert payload["seeds"] == [0] and payload["seed_rmse"] == [payload["rmse"]]


def test_eval_cmapss_config_pins_the_rul_cap_only_when_asked() -> None:
    from bench.cmapss_eval import models_config

    assert models_config().rul_cap_hours is None  # derived from the training lives
    assert models_config(rul_cap=125.0).rul_cap_hours == 125.0


def test_eval_cmapss_needs_one_mode(nasa_files: dict[str, Path]) -> None:
    args = ["eval", "cmapss", "--train", str(nasa_files["train"])]
    assert CliRunner().invoke(_cli(), args).exit_code == 2
    result = CliRunner().invoke(_cli(), [*args, "--test", str(nasa_files["test"])])
    assert result.exit_code == 2
    bad = CliRunner().invoke(_cli(), [*args, "--test", str(nasa_files["rul"]), "--rul", "x"])
    assert bad.exit_code == 2
    official = [*args, "--test", str(nasa_files["test"]), "--rul", str(nasa_files["rul"])]
    repeated = CliRunner().invoke(_cli(), [*official, "--repeats", "2"])
    assert repeated.exit_code == 2 and "--repeats" in repeated.output


def test_error_by_truth_splits_the_squared_error_by_true_rul() -> None:
    from bench.cmapss_eval import error_by_truth

    truth = np.array([10.0, 20.0, 100.0, 140.0, 150.0])
    rul = np.array([12.0, 20.0, 90.0, 125.0, 125.0])  # worn: +2, 0; mid: -10; past cap: -15, -25
    low = np.array([5.0, 25.0, 80.0, 100.0, 100.0])
    rows = {r["bucket"]: r for r in error_by_truth(truth, rul, low)}
    assert list(rows) == ["0-30", "90-125", "125-inf"]  # empty buckets are left out
    assert rows["0-30"]["points"] == 2 and rows["0-30"]["rmse"] == round(np.sqrt(2), 3)
    assert rows["0-30"]["bias"] == 1.0 and rows["0-30"]["q10_coverage"] == 0.5
    assert rows["125-inf"]["bias"] == -20.0
    total = 4 + 100 + 225 + 625
    assert rows["125-inf"]["sse_share"] == round(850 / total, 3)
    assert sum(r["sse_share"] for r in rows.values()) == pytest.approx(1.0, abs=2e-3)


def test_repeated_cross_validation_pools_every_seed(fd001: pd.DataFrame) -> None:
    """--repeats draws folds and cuts once per seed and pools their points; each seed's own
    figure is the figure a single run with that seed gives."""
    from bench.cmapss_eval import cross_validate, models_config

    engines = fd001[fd001["unit"] <= 10].reset_index(drop=True)
    config = models_config(seed=4, n_estimators=20).model_copy(update={"conformal_folds": 2})
    both = cross_validate(engines, config, 2, cuts=2, repeats=2)
    alone = cross_validate(engines, config.model_copy(update={"seed": 5}), 2, cuts=2)
    assert len(both.seed_rmse) == 2 and len(both.folds) == 4
    assert both.points == 2 * alone.points == 40
    assert both.seed_rmse[1] == pytest.approx(alone.rmse)
    expected = np.sqrt(np.mean((both.scored["rul"].to_numpy() - both.truth) ** 2))
    assert both.rmse == pytest.approx(expected)
