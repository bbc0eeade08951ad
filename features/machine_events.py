"""Per-machine features from events: time since maintenance, operating hours, error counts.

Pure and vectorised over instants; the loop runs over machines (a handful per chunk), never
over rows. Only events strictly before an instant count, matching the readings windows
``[t - w, t)``: what happens at ``t`` is the future.

Downtime (excluded from operating hours) is the union of: failure → next repair (open-ended
while unrepaired), offline → next online, and any event with an ``ends_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from features.windows import US_PER_HOUR

RESET_KINDS = ("repair", "maintenance")
EVENT_COLUMNS = ("machine_id", "ts", "kind", "ends_at")
_FOREVER = np.iinfo(np.int64).max // 2


def to_us(values: pd.Series | pd.DatetimeIndex | np.ndarray | Sequence[datetime]) -> np.ndarray:
    """Microseconds since the Unix epoch (UTC) as int64; NaT becomes the int64 minimum."""
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return index.as_unit("us").asi8


def empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "machine_id": pd.Series(dtype="int64"),
            "ts": pd.Series(dtype="datetime64[us, UTC]"),
            "kind": pd.Series(dtype="object"),
            "ends_at": pd.Series(dtype="datetime64[us, UTC]"),
        }
    )


def events_by_machine(events: pd.DataFrame) -> dict[int, pd.DataFrame]:
    if events.empty:
        return {}
    return {int(m): g.sort_values("ts", kind="stable") for m, g in events.groupby("machine_id")}


def reset_times(
    events: pd.DataFrame | None, origin: datetime | None, kinds: Sequence[str] = RESET_KINDS
) -> np.ndarray:
    """Sorted µs times after which a machine is as good as new: repairs, maintenance and its
    first reading (the origin). One machine's events."""
    times = [] if events is None else list(to_us(events.loc[events["kind"].isin(kinds), "ts"]))
    if origin is not None and not pd.isna(origin):
        times.append(int(to_us([origin])[0]))
    return np.unique(np.asarray(times, dtype=np.int64))


def _after(starts: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """For each start, the first candidate at or after it (or forever)."""
    idx = np.searchsorted(candidates, starts, side="left")
    padded = np.r_[candidates, _FOREVER]
    return padded[idx]


def downtime(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Merged, sorted downtime intervals ``[start, end)`` in µs for one machine's events."""
    ts = to_us(events["ts"])
    kind = events["kind"].to_numpy()
    ends_at = events["ends_at"] if "ends_at" in events else pd.Series(pd.NaT, index=events.index)
    ends = to_us(ends_at)
    has_end = ~pd.isna(ends_at).to_numpy()
    failures, repairs = ts[kind == "failure"], np.sort(ts[kind == "repair"])
    offline, online = ts[(kind == "offline") & ~has_end], np.sort(ts[kind == "online"])
    starts = np.r_[failures, offline, ts[has_end]]
    stops = np.r_[_after(failures, repairs), _after(offline, online), ends[has_end]]
    keep = stops > starts
    starts, stops = starts[keep], stops[keep]
    if not len(starts):
        return starts, stops
    order = np.argsort(starts, kind="stable")
    starts, stops = starts[order], stops[order]
    reach = np.maximum.accumulate(stops)
    new = np.r_[True, starts[1:] > reach[:-1]]
    group = np.cumsum(new) - 1
    merged_starts = starts[new]
    merged_stops = np.zeros(len(merged_starts), dtype=np.int64)
    np.maximum.at(merged_stops, group, stops)
    return merged_starts, merged_stops


def _down_before(x: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Total downtime (µs) before each time in ``x``."""
    if not len(starts):
        return np.zeros(len(x), dtype=np.float64)
    lengths = (stops - starts).astype(np.float64)
    before = np.r_[0.0, np.cumsum(lengths)]
    k = np.searchsorted(starts, x, side="right")  # intervals starting at or before x
    partial = np.where(
        k > 0, np.clip(x - starts[np.maximum(k - 1, 0)], 0, lengths[np.maximum(k - 1, 0)]), 0.0
    )
    return before[np.maximum(k - 1, 0)] * (k > 0) + partial


def _last_before(times: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """The latest time strictly before each instant, as float µs (NaN when none)."""
    idx = np.searchsorted(times, instants, side="left") - 1
    out = np.full(len(instants), np.nan)
    ok = idx >= 0
    out[ok] = times[idx[ok]]
    return out


def event_features(
    events: pd.DataFrame | None,
    origins: Mapping[int, datetime | None],
    machine_ids: Sequence[int],
    instants: np.ndarray,
    windows_minutes: Sequence[int],
) -> dict[str, np.ndarray]:
    """MACHINE_STATS and EVENT_COUNT_STATS, each an array of shape (machines, instants)."""
    from features.definitions import window_label

    per_machine = events_by_machine(events if events is not None else empty_events())
    shape = (len(machine_ids), len(instants))
    out = {
        "hours_since_maintenance": np.full(shape, np.nan),
        "operating_hours_since_repair": np.full(shape, np.nan),
    }
    for w in windows_minutes:
        out[f"error_count_{window_label(w)}"] = np.zeros(shape)
    t = instants.astype(np.int64)
    for i, machine in enumerate(machine_ids):
        ev = per_machine.get(int(machine), empty_events())
        ts, kind = to_us(ev["ts"]), ev["kind"].to_numpy()
        last_reset = _last_before(np.sort(ts[np.isin(kind, RESET_KINDS)]), t)
        out["hours_since_maintenance"][i] = (t - last_reset) / US_PER_HOUR
        origin = origins.get(int(machine))
        since = _last_before(reset_times(ev, origin, kinds=("repair",)), t)
        starts, stops = downtime(ev)
        ok = ~np.isnan(since)
        since_us = np.where(ok, since, 0).astype(np.int64)
        down = _down_before(t, starts, stops) - _down_before(since_us, starts, stops)
        out["operating_hours_since_repair"][i] = np.where(
            ok, (t - since_us - down) / US_PER_HOUR, np.nan
        )
        errors = np.sort(ts[kind == "error"])
        for w in windows_minutes:
            lo = np.searchsorted(errors, t - w * 60_000_000, side="left")
            hi = np.searchsorted(errors, t, side="left")
            out[f"error_count_{window_label(w)}"][i] = hi - lo
    return out
