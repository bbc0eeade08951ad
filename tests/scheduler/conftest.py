"""Small problem builders shared by the scheduler tests (real CP-SAT in every test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.objective_weights import ObjectiveWeights

JSSP_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "jssp"

# Makespan-first weights keep expected plans easy to state exactly.
PLAIN = ObjectiveWeights(
    tardiness=0,
    maintenance=0,
    expected_failure=0,
    makespan=1,
    maintenance_late=1000,
    change=0,
    change_machine=0,
    scale=1,
)


@pytest.fixture
def jssp_dir() -> Path:
    assert JSSP_DIR.is_dir(), f"JSSP instances expected in {JSSP_DIR}"
    return JSSP_DIR
