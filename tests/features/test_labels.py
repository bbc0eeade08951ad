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

    row = by.loc[(2, 0.0)]  # maintained after 100 minutes, inside the 2 h horizon: unknown
    assert row["censored"] and row["failed_within_h"] is pd.NA
    assert row["rul_lower"] == pytest.approx(100 / 60)
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


def _table(labels: pd.DataFrame) -> list[tuple[object, ...]]:
    """(hours, failed_within_h, rul, rul_lower, censored, down) per row, NaN/NA as None."""
    out: list[tuple[object, ...]] = []
    for _, row in labels.iterrows():
        within = row["failed_within_h"]
        out.append(
            (
                (row["ts"] - at(0)).total_seconds() / 3600,
                None if within is pd.NA else bool(within),
                None if math.isnan(row["rul"]) else round(row["rul"], 9),
                round(row["rul_lower"], 9),
                bool(row["censored"]),
                bool(row["down"]),
            )
        )
    return out


def test_maintenance_ends_the_life_segment() -> None:
    """The issue's case: maintenance at 20 h, failure at 30 h, horizon 12 h."""
    history = events([(1, 20 * 60, "maintenance"), (1, 30 * 60, "failure")])
    hours = [0, 5, 8, 8.5, 19, 20, 21, 29, 30]
    labels = make_labels(
        _instants([(1, h * 60) for h in hours]),
        history,
        horizon_hours=12.0,
        observed_until=at(100 * 60),
    )
    assert _table(labels) == [
        (0.0, False, None, 20.0, True, False),  # maintained 20 h later: >= H, a negative
        (5.0, False, None, 15.0, True, False),
        (8.0, False, None, 12.0, True, False),  # exactly H of observed life left
        (8.5, None, None, 11.5, True, False),  # maintenance inside H: unknown, not a failure
        (19.0, None, None, 1.0, True, False),  # the old labels said failed within 12 h, RUL 11
        (20.0, None, None, 0.0, True, False),  # at the maintenance: it is still ahead
        (21.0, True, 9.0, 9.0, False, False),  # new segment, ends in the failure at 30 h
        (29.0, True, 1.0, 1.0, False, False),
        (30.0, True, 0.0, 0.0, False, False),
    ]


def test_repairs_failures_and_unprovoked_repairs() -> None:
    history = events(
        [
            (1, 10 * 60, "failure"),
            (1, 12 * 60, "repair"),  # after a failure: starts the next segment
            (1, 40 * 60, "repair"),  # no failure before it: ends (censors) that segment
            (1, 50 * 60, "failure"),
            (1, 52 * 60, "maintenance"),  # after a failure: acts as the repair
        ]
    )
    hours = [0, 11, 12, 30, 39, 41, 51, 53]
    labels = make_labels(
        _instants([(1, h * 60) for h in hours]),
        history,
        horizon_hours=5.0,
        observed_until=at(60 * 60),
    )
    assert _table(labels) == [
        (0.0, False, 10.0, 10.0, False, False),
        (11.0, False, None, 29.0, True, True),  # down; its next end is the repair at 40 h
        (12.0, False, None, 28.0, True, False),  # next end: the repair at 40 h (censored)
        (30.0, False, None, 10.0, True, False),
        (39.0, None, None, 1.0, True, False),
        (41.0, False, 9.0, 9.0, False, False),
        (51.0, False, None, 9.0, True, True),  # down until the maintenance at 52 h
        (53.0, False, None, 7.0, True, False),  # no end seen; watched 7 h >= H
    ]


def test_events_after_observation_end_are_unknown() -> None:
    history = events([(1, 10 * 60, "maintenance"), (1, 20 * 60, "failure")])
    labels = make_labels(
        _instants([(1, 0), (1, 11 * 60)]), history, horizon_hours=2.0, observed_until=at(15 * 60)
    )
    assert _table(labels) == [
        (0.0, False, None, 10.0, True, False),
        (11.0, False, None, 4.0, True, False),  # the failure at 20 h is not known yet
    ]
