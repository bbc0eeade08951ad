from __future__ import annotations

import pytest
from pydantic import ValidationError

from features.config import FeaturesConfig
from features.definitions import FeatureDefinition, window_label


def test_version_is_stable_and_follows_the_definition() -> None:
    a = FeatureDefinition(sensors=("temp", "vib"))
    assert a.version == FeatureDefinition(sensors=("temp", "vib")).version
    assert a.version.startswith("fd-") and len(a.version) == 15
    changed = [
        FeatureDefinition(sensors=("temp",)),
        FeatureDefinition(sensors=("temp", "vib"), windows_minutes=(60, 360)),
        FeatureDefinition(sensors=("temp", "vib"), ewma_halflife_minutes=30),
        FeatureDefinition(sensors=("temp", "vib"), baseline_hours=12),
        FeatureDefinition(sensors=("temp", "vib"), formula_revision=999),
    ]
    assert len({d.version for d in changed} | {a.version}) == len(changed) + 1


def test_names_cover_every_statistic_once() -> None:
    d = FeatureDefinition(sensors=("temp",), windows_minutes=(60, 90), cadence_minutes=10)
    names = d.names
    assert len(names) == len(set(names)) == 1 * (2 * 8 + 2) + 2 + 2 + 2 * 2
    assert names[:3] == ("temp__count_1h", "temp__mean_1h", "temp__std_1h")
    assert "temp__slope_90m" in names and "error_count_90m" in names
    assert names[-4:] == ("dev_rms_1h", "dev_rms_rate_1h", "dev_rms_90m", "dev_rms_rate_90m")
    assert set(d.describe()) == set(names)


def test_round_trip_through_json() -> None:
    d = FeatureDefinition(sensors=("a", "b"), windows_minutes=(30, 60), cadence_minutes=5)
    assert FeatureDefinition.from_json(d.to_json()) == d


def test_definition_from_config_uses_pinned_sensors_first() -> None:
    config = FeaturesConfig(sensors=["z", "a"])
    assert FeatureDefinition.from_config(config, ["q"]).sensors == ("z", "a")
    assert FeatureDefinition.from_config(FeaturesConfig(), ["b", "a", "b"]).sensors == ("a", "b")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sensors": ()},
        {"sensors": ("a", "a")},
        {"sensors": ("a__b",)},
        {"sensors": ("a",), "windows_minutes": (60, 15), "cadence_minutes": 5},
        {"sensors": ("a",), "windows_minutes": (25,), "cadence_minutes": 10},
    ],
)
def test_bad_definitions_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FeatureDefinition(**kwargs)  # type: ignore[arg-type]


def test_config_refuses_windows_off_the_cadence() -> None:
    with pytest.raises(ValidationError, match="multiples of cadence"):
        FeaturesConfig(cadence_minutes=10, windows_minutes=[60, 25])


def test_window_labels() -> None:
    assert [window_label(m) for m in (10, 60, 90, 1440)] == ["10m", "1h", "90m", "24h"]
