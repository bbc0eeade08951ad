"""Labels from events: failure within a horizon and remaining useful life, per life segment.

Pure: instants and events in, one label row per instant out.

A machine's history is cut into **life segments**. A segment starts at a reset (the first
reading, a repair, a maintenance) and ends at the first of: a ``failure`` (an observed end of
life), a ``maintenance``, or a ``repair`` that follows no failure (both *censor* the life: the
machine was made as good as new before it failed). Features already treat maintenance and
repair as resets; labels now do too, so an instant before a maintenance is never labelled with
a failure that happens after it.

For an instant ``t`` the segment's end is its first end event at or after ``t`` (features see
only ``[.., t)``, so an event at ``t`` is still ahead). Events are known up to
``observed_until``:

- the segment ends in a failure: ``rul`` = hours to it, ``censored`` False, ``failed_within_h``
  = ``rul <= H``;
- it ends in a maintenance (or an unprovoked repair): ``censored`` True, ``rul`` NaN,
  ``rul_lower`` = hours to that maintenance (the machine lived at least that long), and
  ``failed_within_h`` False when the segment lasted at least H more, <NA> otherwise (the
  maintenance may have prevented a failure inside the horizon: unknown, not negative);
- no end is observed yet: ``censored`` True, ``rul_lower`` = hours to ``observed_until``,
  ``failed_within_h`` False when watched for at least H, <NA> otherwise.

``down`` flags instants between a failure and its repair (or maintenance): the machine is
broken, its next "failure" belongs to the next life, and trainers usually drop these rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from features.machine_events import events_by_machine, to_us
from features.windows import US_PER_HOUR

LABEL_COLUMNS = (
    "machine_id",
    "ts",
    "failed_within_h",
    "rul",
    "rul_lower",
    "censored",
    "down",
)

_NEVER = np.iinfo(np.int64).max


def segment_ends(ts: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted µs times at which one machine's life segments end, and whether each end is a
    failure (True) or a censoring maintenance/repair (False).

    A repair right after a failure only starts the next segment (the failure ended the last
    one); a repair with no failure since the previous end is a censoring end, like maintenance.
    """
    order = np.argsort(ts, kind="stable")
    ends: list[int] = []
    failed: list[bool] = []
    broken = False
    for t, k in zip(ts[order].tolist(), kind[order].tolist(), strict=True):
        if k == "failure":
            if not broken:
                ends.append(int(t))
                failed.append(True)
            broken = True
        elif k == "maintenance" or k == "repair":
            if not broken:
                ends.append(int(t))
                failed.append(False)
            broken = False
    return np.asarray(ends, dtype=np.int64), np.asarray(failed, dtype=bool)


def make_labels(
    instants: pd.DataFrame,
    events: pd.DataFrame,
    *,
    horizon_hours: float,
    observed_until: datetime | Mapping[int, datetime],
) -> pd.DataFrame:
    """Labels for each (machine_id, ts) row of ``instants``, in the same order.

    ``events``: machine_id, ts, kind (failure, repair and maintenance matter).
    ``observed_until``: when events stop being known, one time or one per machine.
    """
    if horizon_hours <= 0:
        raise ValueError(f"horizon_hours must be positive, got {horizon_hours}.")
    n = len(instants)
    t = to_us(instants["ts"]) if n else np.zeros(0, dtype=np.int64)
    machines = instants["machine_id"].to_numpy(dtype=np.int64)
    seen = np.empty(n, dtype=np.int64)
    if isinstance(observed_until, Mapping):
        ends = {int(m): int(to_us([ts])[0]) for m, ts in observed_until.items()}
        missing = set(np.unique(machines).tolist()) - set(ends)
        if missing:
            raise ValueError(f"observed_until has no time for machines {sorted(missing)}.")
        seen[:] = [ends[int(m)] for m in machines] if n else []
    else:
        seen[:] = int(to_us([observed_until])[0])

    end_at = np.full(n, _NEVER, dtype=np.int64)
    end_failed = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    per_machine = events_by_machine(events)
    for machine in np.unique(machines):
        rows = np.flatnonzero(machines == machine)
        ev = per_machine.get(int(machine))
        if ev is None:
            continue
        ts, kind = to_us(ev["ts"]), ev["kind"].to_numpy()
        keep = ts <= seen[rows].max()
        ts, kind = ts[keep], kind[keep]
        stops, failed = segment_ends(ts, kind)
        at = t[rows]
        k = np.searchsorted(stops, at, side="left")
        has = k < len(stops)
        end_at[rows[has]] = stops[k[has]]
        end_failed[rows[has]] = failed[k[has]]
        failures = np.sort(ts[kind == "failure"])
        resets = np.sort(ts[np.isin(kind, ("repair", "maintenance"))])
        last_failure = np.searchsorted(failures, at, side="left") - 1
        last_reset = np.searchsorted(resets, at, side="right") - 1
        failed_before = last_failure >= 0
        reset_after = np.zeros(len(at), dtype=bool)
        if len(resets) and len(failures):
            reset_after = (last_reset >= 0) & (
                resets[np.maximum(last_reset, 0)] >= failures[np.maximum(last_failure, 0)]
            )
        down[rows] = failed_before & ~reset_after
        # a down instant's segment is the next life: its end is after the repair
    observed = (end_at != _NEVER) & (end_at <= seen)
    failure = observed & end_failed
    censored = ~failure
    stop = np.where(observed, end_at, seen)
    hours = (stop.astype(np.float64) - t) / US_PER_HOUR
    rul = np.where(failure, hours, np.nan)
    rul_lower = np.maximum(hours, 0.0)
    within = pd.array(np.where(failure, hours <= horizon_hours, False), dtype="boolean")
    within[censored & (hours < horizon_hours)] = pd.NA
    return pd.DataFrame(
        {
            "machine_id": machines,
            "ts": instants["ts"],
            "failed_within_h": within,
            "rul": rul,
            "rul_lower": rul_lower,
            "censored": censored,
            "down": down,
        },
        index=instants.index,
    )
