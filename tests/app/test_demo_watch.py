"""The demo's watch: how long a machine at risk waits for its task, in plant hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from millwright.app.demo.console import Watch

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_wait_runs_from_the_first_sample_at_risk_to_the_last_without_a_task() -> None:
    watch = Watch()
    watch.add(["m-1"], [], T0)
    watch.add(["m-1", "m-2"], [], T0 + timedelta(hours=3))
    watch.add(["m-1", "m-2"], ["m-1"], T0 + timedelta(hours=4))
    watch.add(["m-2"], ["m-1", "m-2"], T0 + timedelta(hours=9))
    assert watch.longest_wait_h == 3.0  # m-1 from 0 h to 3 h; m-2 from 3 h to 4 h
    assert (watch.samples, watch.with_at_risk, watch.with_task, watch.with_both) == (4, 4, 2, 2)


def test_a_machine_leaving_risk_ends_its_wait_and_a_new_risk_starts_anew() -> None:
    watch = Watch()
    watch.add(["m-1"], [], T0)
    watch.add([], [], T0 + timedelta(hours=2))
    watch.add(["m-1"], [], T0 + timedelta(hours=10))
    watch.add(["m-1"], ["m-1", "m-3"], T0 + timedelta(hours=11))
    assert watch.longest_wait_h == 0.0  # never seen waiting across two samples
    assert watch.as_dict()["longest_wait_hours"] == 0.0
