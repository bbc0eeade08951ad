"""Labels from events: failure within a horizon and remaining useful life, with censoring.

Pure: instants and events in, one label row per instant out. For an instant ``t`` of a
machine, the next failure is its first ``failure`` event at or after ``t`` (features see only
``[.., t)``, so a failure at ``t`` is still ahead). Events are known up to ``observed_until``:

- a failure observed after ``t``: ``rul`` = hours to it, ``censored`` False;
- none observed (the machine has not failed yet): ``censored`` True, ``rul`` NaN and
  ``rul_lower`` = hours from ``t`` to ``observed_until`` — the machine lived at least that
  long, which is what survival-style losses need;
- ``failed_within_h`` is True/False when known and <NA> when censored inside the horizon
  (``t`` closer to ``observed_until`` than H: a failure may still come).

``down`` flags instants between a failure and its repair: the machine is broken, its next
"failure" belongs to the next life, and trainers usually drop these rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from features.machine_events import events_by_machine, to_us
from features.windows import US_PER_HOUR

LABEL_COLUMNS = ("machine_id", "ts", "failed_within_h", "rul", "rul_lower", "censored", "down")


def make_labels(
    instants: pd.DataFrame,
    events: pd.DataFrame,
    *,
    horizon_hours: float,
    observed_until: datetime | Mapping[int, datetime],
) -> pd.DataFrame:
    """Labels for each (machine_id, ts) row of ``instants``, in the same order.

    ``events``: machine_id, ts, kind (failure and repair matter). ``observed_until``: when
    events stop being known, one time or one per machine.
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

    next_failure = np.full(n, np.nan)
    down = np.zeros(n, dtype=bool)
    per_machine = events_by_machine(events)
    for machine in np.unique(machines):
        rows = np.flatnonzero(machines == machine)
        ev = per_machine.get(int(machine))
        if ev is None:
            continue
        ts, kind = to_us(ev["ts"]), ev["kind"].to_numpy()
        failures, repairs = np.sort(ts[kind == "failure"]), np.sort(ts[kind == "repair"])
        at = t[rows]
        if len(failures):
            k = np.searchsorted(failures, at, side="left")
            candidate = failures[np.minimum(k, len(failures) - 1)]
            observed = (k < len(failures)) & (candidate <= seen[rows])
            next_failure[rows[observed]] = candidate[observed]
        last_failure = np.searchsorted(failures, at, side="left") - 1
        last_repair = np.searchsorted(repairs, at, side="right") - 1
        failed_before = last_failure >= 0
        repaired_after = np.zeros(len(at), dtype=bool)
        if len(repairs) and len(failures):
            repaired_after = (last_repair >= 0) & (
                repairs[np.maximum(last_repair, 0)] >= failures[np.maximum(last_failure, 0)]
            )
        down[rows] = failed_before & ~repaired_after

    censored = np.isnan(next_failure)
    rul = (next_failure - t) / US_PER_HOUR
    window = (seen - t) / US_PER_HOUR
    rul_lower = np.where(censored, np.maximum(window, 0.0), rul)
    within = pd.array(np.where(censored, False, rul <= horizon_hours), dtype="boolean")
    within[censored & (window < horizon_hours)] = pd.NA
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
