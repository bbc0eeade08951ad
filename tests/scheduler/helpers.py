"""Shared constants of the scheduler tests."""

from __future__ import annotations

from scheduler.objective_weights import ObjectiveWeights

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
    moved=0,
)
