"""A small seeded plant where failures are predictable, shared by the models tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

HORIZON = 30


def synthetic_plant(seed: int = 7, machines: int = 24) -> pd.DataFrame:
    """Machines that wear linearly to failure; two sensors see the wear, one is pure noise.

    Columns: machine, t, vibration, temperature, noise, rul, failing (rul < HORIZON).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(machines):
        life = int(rng.integers(120, 220))
        t = np.arange(life)
        rul = life - 1 - t
        wear = (t / life) ** 2
        rows.append(
            pd.DataFrame(
                {
                    "machine": f"m{m:02d}",
                    "t": t,
                    "vibration": 1.0 + 3.0 * wear + rng.normal(0, 0.15, life),
                    "temperature": 60.0 + 15.0 * wear + rng.normal(0, 1.0, life),
                    "noise": rng.normal(0, 1.0, life),
                    "rul": rul.astype(float),
                    "failing": (rul < HORIZON).astype(int),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


FEATURES = ["vibration", "temperature", "noise"]


@pytest.fixture(scope="session")
def plant() -> pd.DataFrame:
    return synthetic_plant()
