"""The plant bench's disruption figures: the objective with and without the stability term,
dispatch's beside it, and what moved beyond the affected work."""

from __future__ import annotations

import pytest

from bench.scheduler_bench import plant_bench


@pytest.mark.parametrize("scope", ["affected", "pinned"])
def test_disruption_figures_split_the_stability_term(scope: str) -> None:
    figures = plant_bench(8, 2, 3, 1.0, 1, seed=1, disruption="rush", scope=scope)
    assert figures["status"] in ("feasible", "optimal")
    assert figures["frozen_outside_unchanged"]
    costs = figures["costs"]
    assert figures["stability_cost"] == round(costs["change"], 1)
    assert figures["production_objective"] == round(costs["total"] - costs["change"], 1)
    assert figures["dispatch_production_objective"] <= figures["dispatch_objective"]
    assert 0 <= figures["moved_due_soon"] <= figures["moved_operations"]
    assert figures["moved_operations"] <= figures["previous_operations"]
    if scope == "pinned":
        assert figures["moved_beyond_affected"] == 0
        assert figures["moved_operations"] <= figures["affected_operations"]


@pytest.mark.parametrize("max_loss", [None, 0.0])
def test_offline_figures_show_the_stable_plan_beside_re_dispatching(
    monkeypatch: pytest.MonkeyPatch, max_loss: float | None
) -> None:
    """An offline machine on the large plants' path: the figures carry the stable plan's
    production cost beside re-dispatching's (the bench's own dispatch figure), and which one
    the replan took under `max_loss`."""
    from scheduler.cpsat import repair as repair_module

    monkeypatch.setattr(repair_module, "FULL_MAX_OPS", 0)
    figures = plant_bench(8, 2, 3, 2.0, 1, seed=1, disruption="offline", max_loss=max_loss)
    tradeoff = figures["tradeoff"]
    assert tradeoff is not None and figures["max_loss"] == max_loss
    redispatch = tradeoff["redispatch_production_objective"]
    assert abs(redispatch - figures["dispatch_production_objective"]) < 0.11
    stable = tradeoff["stable_production_objective"]
    if max_loss is None:
        assert tradeoff["chosen"] == "stable"
    elif stable > redispatch:
        assert tradeoff["chosen"] == "redispatch"
