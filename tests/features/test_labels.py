"""Labels: failure within the horizon, remaining useful life and censoring."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.labels import LABEL_COLUMNS, make_labels
from tests.features.helpers import at, events


def _instants(rows: list[tuple[int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "machine_id": [m for m, _ in rows],
            "ts": pd.DatetimeIndex([at(t) for _, t in rows]).as_unit("us"),
        }
    )


EVENTS = events(
    [
        (1, 600, "failure"),
        (1, 720, "repair"),
        (1, 3000, "failure"),
        (2, 100, "maintenance"),
    ]
)


def test_failure_within_horizon_rul_and_censoring() -> None:
    instants = _instants([(1, 0), (1, 540), (1, 600), (1, 660), (1, 800), (2, 0), (2, 2820)])
    labels = make_labels(instants, EVENTS, horizon_hours=2.0, observed_until=at(2880))
    assert tuple(labels.columns) == LABEL_COLUMNS
    by = labels.set_index(
        ["machine_id", labels["ts"].map(lambda t: (t - at(0)).total_seconds() / 60)]
    )

    row = by.loc[(1, 0.0)]  # failure 10 h ahead: observed, beyond the horizon
    assert row["rul"] == pytest.approx(10.0) and not row["censored"]
    assert row["failed_within_h"] is False or not bool(row["failed_within_h"])
    row = by.loc[(1, 540.0)]  # 1 h before the failure
    assert row["rul"] == pytest.approx(1.0) and bool(row["failed_within_h"])
    row = by.loc[(1, 600.0)]  # at the failure: it is still ahead of what features saw
    assert row["rul"] == 0.0 and bool(row["failed_within_h"]) and not row["down"]
    row = by.loc[(1, 660.0)]  # broken, waiting for repair
    assert bool(row["down"])
    row = by.loc[(1, 800.0)]  # repaired; the next failure (3000) is after observed_until
    assert row["censored"] and math.isnan(row["rul"]) and not row["down"]
    assert row["rul_lower"] == pytest.approx((2880 - 800) / 60)
    assert not bool(row["failed_within_h"])  # 34 h observed without failure > 2 h horizon

    row = by.loc[(2, 0.0)]  # never failed: censored, known not to fail within 2 h
    assert row["censored"] and not bool(row["failed_within_h"])
    row = by.loc[(2, 2820.0)]  # 1 h before observation ends: it may still fail within 2 h
    assert row["censored"] and row["failed_within_h"] is pd.NA
    assert row["rul_lower"] == pytest.approx(1.0)


def test_per_machine_observation_ends_and_bad_input() -> None:
    instants = _instants([(1, 800), (2, 0)])
    labels = make_labels(
        instants, EVENTS, horizon_hours=1.0, observed_until={1: at(3100), 2: at(30)}
    )
    assert labels.loc[0, "rul"] == pytest.approx((3000 - 800) / 60)
    assert labels.loc[1, "failed_within_h"] is pd.NA  # observed only 30 minutes
    with pytest.raises(ValueError, match="no time for machines"):
        make_labels(instants, EVENTS, horizon_hours=1.0, observed_until={1: at(3100)})
    with pytest.raises(ValueError, match="positive"):
        make_labels(instants, EVENTS, horizon_hours=0, observed_until=at(10))


def test_no_events_at_all() -> None:
    labels = make_labels(_instants([(5, 0)]), events([]), horizon_hours=1.0, observed_until=at(600))
    assert bool(labels.loc[0, "censored"]) and not bool(labels.loc[0, "failed_within_h"])
