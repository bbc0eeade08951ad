"""Closed cadence bins as data: what a long-running scorer holds instead of raw readings.

:func:`features.compute.compute_features` first reduces readings to per-bin aggregates, and
every window statistic is then composed from those bins alone; a bin's aggregates depend
only on its own readings, summed in their own order (times relative to the bin's end). So a
bin that takes no more readings can be reduced once, when it closes, its raw readings
dropped, and the features of any later instant computed from the stored bins give the bulk
path's numbers bit for bit. Ten float64 numbers per (sensor, bin) instead of every sample:
the decay-weighted count and sum of a single bin are its count and ``count * mean``, so they
are rebuilt, not stored.

The arrays are ``(len(BIN_FIELDS), cells, bins)``, cells ordered by machine then by the
definition's sensors, bins oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from features.compute import features_from_aggregates, reduce_bins
from features.machine_events import to_us
from features.state import FeatureState
from features.windows import _FILL, Aggregates

BIN_FIELDS = ("n", "mt", "mv", "m2v", "m2t", "ctv", "mn", "mx", "last_v", "last_t")


def empty_bins(cells: int, bins: int) -> np.ndarray:
    """Bins with no readings (what a bin without samples reduces to)."""
    out = np.empty((len(BIN_FIELDS), cells, bins))
    for i, name in enumerate(BIN_FIELDS):
        out[i].fill(_FILL[name])
    return out


def _pack(agg: Aggregates) -> np.ndarray:
    return np.stack([getattr(agg, name) for name in BIN_FIELDS])


def _unpack(packed: np.ndarray) -> Aggregates:
    fields = {name: packed[i] for i, name in enumerate(BIN_FIELDS)}
    # One bin: bin_aggregates sets ew_n = n and ew_s = n * mean; the same product, same bits.
    return Aggregates(**fields, ew_n=fields["n"].copy(), ew_s=fields["n"] * fields["mv"])


def closed_bins(
    state: FeatureState,
    readings: pd.DataFrame,
    machine_ids: Sequence[int],
    *,
    first_us: int,
    n_bins: int,
) -> np.ndarray:
    """The packed aggregates of ``n_bins`` bins from grid time ``first_us`` (µs), from every
    reading of those bins (ts, machine_id, sensor_id, value[, quality]; operating-condition
    sensors included when the definition has regimes)."""
    cadence_us = state.definition.cadence_minutes * 60_000_000
    if first_us % cadence_us:
        raise ValueError(f"bins start on the {state.definition.cadence_minutes}-minute grid.")
    agg = reduce_bins(
        state.definition,
        readings,
        state.sensors,
        [int(m) for m in machine_ids],
        first_us=first_us,
        n_bins=n_bins,
    )
    return _pack(agg)


def features_from_bins(
    state: FeatureState,
    closed: np.ndarray,
    readings: pd.DataFrame,
    machine_ids: Sequence[int],
    instant: datetime,
) -> pd.DataFrame:
    """Features of ``machine_ids`` at grid ``instant``: ``closed`` holds the packed oldest
    bins of its look-back (any number, down to none), ``readings`` the raw samples of the
    rest (the bins still open when the caller reduced the others). Equal, bit for bit, to
    :func:`features.features_at` on the raw readings of the whole look-back."""
    definition = state.definition
    machines = [int(m) for m in machine_ids]
    cadence_us = definition.cadence_minutes * 60_000_000
    n_lookback = max(definition.windows_minutes) // definition.cadence_minutes
    cells = len(machines) * len(definition.sensors)
    if closed.ndim != 3 or closed.shape[:2] != (len(BIN_FIELDS), cells):
        raise ValueError(
            f"closed bins of shape {closed.shape} are not ({len(BIN_FIELDS)}, {cells}, bins)"
        )
    n_closed = closed.shape[2]
    if n_closed > n_lookback:
        raise ValueError(f"{n_closed} closed bins exceed the {n_lookback}-bin look-back.")
    instant_us = int(to_us([instant])[0])
    if instant_us % cadence_us:
        raise ValueError(
            f"instant {instant} is not on the {definition.cadence_minutes}-minute grid."
        )
    packed = closed
    if n_closed < n_lookback:
        first_open = instant_us - (n_lookback - n_closed) * cadence_us
        fresh = closed_bins(
            state, readings, machines, first_us=first_open, n_bins=n_lookback - n_closed
        )
        packed = np.concatenate([closed, fresh], axis=2)
    return features_from_aggregates(
        definition,
        _unpack(packed),
        machine_ids=machines,
        instants=np.array([instant_us], dtype=np.int64),
        events=state.events,
        origins=state.origins,
        baselines=state.baselines,
    )
