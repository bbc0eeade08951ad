"""One evaluation run: the plant, the shop and a policy advanced event by event.

:func:`prepare` does what every policy of a seed shares (the engine split, the preventive
interval tuned on training lives, the health model trained on training engines);
:func:`run_policy` runs one policy on the held-out plant and returns its :class:`Report`.
Plant events and shop events meet in one loop that jumps from event to event, so a plant-quarter
costs seconds, not a quarter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bench.plant.costs import Ledger
from bench.plant.health import HealthModel
from bench.plant.planning import PlanningRules
from bench.plant.policies import (
    MINUTE,
    PlantView,
    Policy,
    Reactive,
    oracle,
    preventive,
    tune_interval,
)
from bench.plant.predictive import Predictive
from bench.plant.report import Report
from bench.plant.scenario import EvalConfig, Order, generate_orders
from bench.plant.shop import Shop
from sim import (
    CmapssSource,
    EngineRun,
    Event,
    EventKind,
    MachineState,
    Plant,
    PlantTiming,
    load_engines,
    split_engines,
)

POLICIES = ("reactive", "preventive", "predictive", "oracle")
START = datetime(2024, 1, 1, tzinfo=UTC)
TIMING = PlantTiming()


@dataclass(frozen=True)
class Prepared:
    """What the policies of one seed share; the split derives from the seed."""

    config: EvalConfig
    train: tuple[EngineRun, ...]
    held_out: tuple[EngineRun, ...]
    interval_cycles: int
    model: HealthModel | None


def failure_cost(config: EvalConfig) -> float:
    """Expected cost of a failure: repair, its downtime, and the part it scraps when busy.

    A busy machine (probability about ``utilisation``) scraps a part carrying on average half
    an order's processing.
    """
    costs = config.costs
    mean_part = config.ops_per_order * sum(config.op_hours) / 2.0 * 60.0 / 2.0
    return costs.failure(_hours(TIMING.repair), config.utilisation * costs.scrap(mean_part))


def planned_cost(config: EvalConfig) -> float:
    return config.costs.planned(_hours(TIMING.maintenance))


def prepare(config: EvalConfig, policies: Iterable[str] = POLICIES) -> Prepared:
    """Split engines by the seed, tune the preventive interval, train the model if needed."""
    train, held = split_engines(load_engines(), config.holdout_fraction, config.seed)
    cycle_hours = _hours(TIMING.cycle)
    interval = tune_interval(
        [e.cycles for e in train],
        failure_cost(config),
        planned_cost(config),
        _hours(TIMING.repair) / cycle_hours,
        _hours(TIMING.maintenance) / cycle_hours,
    )
    model = (
        HealthModel(seed=config.seed, n_estimators=config.model_trees).fit(train)
        if "predictive" in policies
        else None
    )
    return Prepared(config, train, held, interval, model)


def make_policy(name: str, prepared: Prepared) -> Policy:
    config = prepared.config
    if name == "reactive":
        return Reactive()
    if name == "preventive":
        return preventive(prepared.interval_cycles)
    if name == "oracle":
        return oracle()
    if name == "predictive":
        if prepared.model is None:
            raise ValueError("the predictive policy needs prepare(..., policies) to train a model")
        return Predictive(
            prepared.model, planning_rules(config), config.solver_seconds, config.solver_workers
        )
    raise ValueError(f"unknown policy {name!r}; expected one of {', '.join(POLICIES)}")


def planning_rules(config: EvalConfig) -> PlanningRules:
    model_horizon = HealthModel().horizon_cycles
    cycle_minutes = TIMING.cycle / MINUTE
    return PlanningRules(
        cycle_minutes=cycle_minutes,
        maintenance_minutes=round(TIMING.maintenance / MINUTE),
        replan_minutes=round(config.replan_hours * 60),
        window_minutes=round(config.window_hours * 60),
        risk_window_minutes=round(model_horizon * cycle_minutes),
        crew=config.crew,
        failure_cost=failure_cost(config),
        planned_cost=planned_cost(config),
        tardiness_per_minute=config.costs.tardiness_per_hour / 60.0,
        max_orders=4 * config.machines,
        p_fail=config.risk_p_fail,
    )


def run_policy(prepared: Prepared, name: str) -> Report:
    """Run policy ``name`` on the seed's held-out plant for ``config.days``."""
    config = prepared.config
    specs = config.plant_machines()
    source = CmapssSource(prepared.held_out)
    plant = Plant(specs, source, start=START, seed=config.seed, timing=TIMING)
    return simulate(config, plant, generate_orders(config, specs), make_policy(name, prepared))


def simulate(config: EvalConfig, plant: Plant, orders: Sequence[Order], policy: Policy) -> Report:
    """Advance ``plant`` and a shop of ``orders`` under ``policy`` for ``config.days``.

    Time zero is the plant's current time. Exposed so tests can run hand-built scenarios.
    """
    started = time.perf_counter()
    view = PlantView(plant, Shop(orders, [m.id for m in plant.machines]), plant.now)
    ledger = Ledger(config.costs)
    end = config.minutes
    t = 0
    view.shop.advance(0)
    policy.step(view, [])
    _dispatch(view, policy)
    while t < end:
        t = min(_next_time(view, policy, t, end), end)
        view.shop.advance(t)
        events = plant.advance_to(view.at(t))
        for event in events:
            _apply(event, view, ledger, end)
        policy.step(view, events)
        _dispatch(view, policy)
    _settle_tardiness(ledger, view.shop, end)
    return Report.from_run(policy.name, config, ledger, view.shop, end, policy.stats(), started)


def _apply(event: Event, view: PlantView, ledger: Ledger, end: int) -> None:
    """Book a plant event: a failure scraps the part under the machine and voids the orders
    planned for the life that ended; its repair and any maintenance stop the machine."""
    t = view.minutes(event.ts)
    if event.kind is EventKind.FAILURE:
        lost = view.shop.interrupt(event.machine, t, scrap=True)
        if lost is not None:
            ledger.scrapped(lost)
        for order in view.plant.pending_orders(event.machine):
            view.plant.cancel(order.order_id)
    elif event.kind in (EventKind.REPAIR, EventKind.MAINTENANCE):
        assert event.ends_at is not None, "repair and maintenance events carry their end"
        down = min(view.minutes(event.ends_at), end) - t
        if event.kind is EventKind.REPAIR:
            ledger.failure(down)
        else:
            view.shop.interrupt(event.machine, t, scrap=False)
            ledger.maintained(down)


def _next_time(view: PlantView, policy: Policy, t: int, end: int) -> int:
    candidates = [view.shop.next_time(), policy.next_wakeup()]
    later = [c for c in candidates if c is not None and c > t]
    plant_next = view.plant.next_event_time()
    if plant_next is not None:
        # An order submitted for "now" is due at t itself: fire it at t, not one step late.
        later.append(max(t, view.minutes(plant_next)))
    return min(later, default=end)


def _dispatch(view: PlantView, policy: Policy) -> None:
    plant = view.plant
    up = [s.machine for s in plant.statuses() if s.state is MachineState.RUNNING]
    maintenance_at: dict[str, int] = {}
    for order in plant.pending_orders():
        at = view.minutes(max(order.planned_at, plant.now))
        maintenance_at[order.machine] = min(at, maintenance_at.get(order.machine, at))
    view.shop.dispatch(view.now, up, maintenance_at, policy.plan)


def _settle_tardiness(ledger: Ledger, shop: Shop, end: int) -> None:
    """Delivered orders are late by delivery - due; undelivered overdue ones up to the end."""
    for job in shop.jobs.values():
        finished = job.done_at if job.done_at is not None else end
        ledger.late(finished - job.order.due)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def run_seeds(
    config: EvalConfig,
    policies: Sequence[str],
    seeds: Sequence[int],
    progress: Callable[[Report], None] | None = None,
    jobs: int = 1,
) -> list[Report]:
    """Every policy on every seed (one preparation per seed, shared by its policies).

    Seeds are independent, so ``jobs`` > 1 runs them in that many processes; the figures are
    the same as in one (each seed's split, orders, model and solves depend on the seed alone),
    and the reports come back in seed order. Progress arrives as each seed finishes.
    """
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policy {unknown[0]!r}; expected one of {', '.join(POLICIES)}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    configs = [replace(config, seed=seed) for seed in seeds]
    if jobs == 1 or len(configs) < 2:
        reports = []
        for one in configs:
            prepared = prepare(one, policies)
            for name in policies:
                reports.append(run_policy(prepared, name))
                if progress is not None:
                    progress(reports[-1])
        return reports
    done: dict[int, list[Report]] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(configs))) as pool:
        futures = {pool.submit(run_seed, one, tuple(policies)): i for i, one in enumerate(configs)}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress is not None:
                for report in done[futures[future]]:
                    progress(report)
    return [report for i in range(len(configs)) for report in done[i]]


def run_seed(config: EvalConfig, policies: Sequence[str]) -> list[Report]:
    """The policies on ``config.seed``'s plant, sharing one preparation."""
    prepared = prepare(config, policies)
    return [run_policy(prepared, name) for name in policies]
