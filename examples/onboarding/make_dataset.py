"""Generate the onboarding example: a small press shop's historian export and CMMS log.

Ten presses over twelve days, one row per machine every 15 minutes in the *wide* layout a
historian exports (``ts, machine, vib, temp, load``). Each press wears quadratically over a
life of 3 to 6 days, fails, is repaired 4 hours later (two work orders) and starts again;
vibration and temperature show the wear, ``load`` is the press-force setting (an operating
condition). Deterministic (seed 19): ``python examples/onboarding/make_dataset.py`` rewrites
the same files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 12
STEP_MINUTES = 15
MACHINES = 10
REPAIR_HOURS = 4.0


def build(seed: int = 19) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    minutes = np.arange(0, DAYS * 24 * 60, STEP_MINUTES)
    rows: list[pd.DataFrame] = []
    orders: list[tuple[datetime, str, str, str, str, str, str]] = []
    for m in range(MACHINES):
        name = f"press-{m + 1:02d}"
        wear = np.full(len(minutes), np.nan)
        start = -float(rng.uniform(0, 48))
        while start * 60 < minutes[-1]:
            life = float(rng.uniform(72, 144))
            fail = start + life
            inside = (minutes / 60 >= start) & (minutes / 60 < fail)
            wear[inside] = ((minutes[inside] / 60 - start) / life) ** 2
            if fail * 60 <= minutes[-1]:
                at = T0 + timedelta(hours=fail)
                n = len(orders) + 1
                orders.append((at, name, "failure", "", "hydraulic pump", f"WO-{n:04d}", ""))
                orders.append((at + timedelta(hours=REPAIR_HOURS), name, "repair", "",
                               "hydraulic pump", f"WO-{n + 1:04d}", "pump replaced"))  # fmt: skip
            start = fail + REPAIR_HOURS
        up = ~np.isnan(wear)
        ts = pd.Timestamp(T0) + pd.to_timedelta(minutes[up], unit="min")
        w = wear[up]
        rows.append(
            pd.DataFrame(
                {
                    "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "machine": name,
                    "vib": np.round(1.0 + 3.0 * w + rng.normal(0, 0.15, len(w)), 3),
                    "temp": np.round(60.0 + 15.0 * w + rng.normal(0, 1.0, len(w)), 2),
                    "load": np.where((minutes[up] // 480) % 2 == 0, 80.0, 120.0),
                }
            )
        )
        orders.append((T0 + timedelta(days=2, hours=m), name, "inspection", "", "", "", "weekly"))
    history = pd.concat(rows, ignore_index=True)
    log = pd.DataFrame(
        sorted(orders), columns=["ts", "machine", "kind", "end", "component", "work_order", "note"]
    )
    log["ts"] = pd.to_datetime(log["ts"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    machines = pd.DataFrame(
        [
            (f"press-{m + 1:02d}", "L1" if m < 5 else "L2", "press", "presses", sensor, unit,
             description, flag)
            for m in range(MACHINES)
            for sensor, unit, description, flag in (
                ("vib", "mm/s", "frame vibration RMS", "false"),
                ("temp", "degC", "hydraulic oil temperature", "false"),
                ("load", "t", "press force setting", "true"),
            )
        ],
        columns=["machine", "line", "class", "groups", "sensor", "unit", "description",
                 "operating_condition"],
    )  # fmt: skip
    return history, log, machines


def main() -> None:
    history, log, machines = build()
    history.to_csv(HERE / "history.csv", index=False)
    log.to_csv(HERE / "work_orders.csv", index=False)
    machines.to_csv(HERE / "machines.csv", index=False)
    print(f"{len(history)} history rows, {len(log)} work orders, {len(machines)} sensor rows")


if __name__ == "__main__":
    main()
