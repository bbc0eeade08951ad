"""What one run reports: cost by component, failures, maintenance, delivery and throughput."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench.plant.costs import Ledger
from bench.plant.scenario import EvalConfig
from bench.plant.shop import Shop


@dataclass(frozen=True)
class Report:
    """Figures of one policy on one seed; :meth:`as_dict` is the ``--json`` object."""

    policy: str
    seed: int
    machines: int
    days: int
    total_cost: float
    costs: dict[str, float]
    unplanned_failures: int
    maintenance_count: int
    on_time_rate: float
    orders_due: int
    throughput: int
    scrapped_parts: int
    downtime_hours: float
    wall_seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_run(
        cls,
        policy: str,
        config: EvalConfig,
        ledger: Ledger,
        shop: Shop,
        end: int,
        extra: dict[str, float],
        started: float,
    ) -> Report:
        """Summarise a finished run; on-time counts the orders due within the run."""
        jobs = list(shop.jobs.values())
        due = [j for j in jobs if j.order.due <= end]
        on_time = sum(1 for j in due if j.done_at is not None and j.done_at <= j.order.due)
        return cls(
            policy=policy,
            seed=config.seed,
            machines=config.machines,
            days=config.days,
            total_cost=ledger.total,
            costs={
                "tardiness": ledger.tardiness,
                "downtime": ledger.downtime,
                "repairs": ledger.repairs,
                "maintenance": ledger.maintenance,
                "scrap": ledger.scrap,
            },
            unplanned_failures=ledger.failures,
            maintenance_count=ledger.maintenance_count,
            on_time_rate=on_time / len(due) if due else 1.0,
            orders_due=len(due),
            throughput=sum(1 for j in jobs if j.done_at is not None),
            scrapped_parts=ledger.scrapped_parts,
            downtime_hours=ledger.downtime_minutes / 60.0,
            wall_seconds=time.perf_counter() - started,
            extra=dict(extra),
        )

    @property
    def throughput_per_day(self) -> float:
        return self.throughput / self.days

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "seed": self.seed,
            "machines": self.machines,
            "days": self.days,
            "total_cost": round(self.total_cost, 2),
            "costs": {k: round(v, 2) for k, v in self.costs.items()},
            "unplanned_failures": self.unplanned_failures,
            "maintenance_count": self.maintenance_count,
            "on_time_rate": round(self.on_time_rate, 4),
            "orders_due": self.orders_due,
            "throughput": self.throughput,
            "throughput_per_day": round(self.throughput_per_day, 2),
            "scrapped_parts": self.scrapped_parts,
            "downtime_hours": round(self.downtime_hours, 2),
            "wall_seconds": round(self.wall_seconds, 2),
            **{k: round(v, 3) for k, v in self.extra.items()},
        }

    def describe(self) -> str:
        """One line for people."""
        c = self.costs
        return (
            f"{self.policy:>10}  seed {self.seed}: total {self.total_cost:,.0f} € "
            f"(tardiness {c['tardiness']:,.0f}, downtime {c['downtime']:,.0f}, "
            f"repairs {c['repairs']:,.0f}, maintenance {c['maintenance']:,.0f}, "
            f"scrap {c['scrap']:,.0f}); {self.unplanned_failures} failures, "
            f"{self.maintenance_count} maintenance, on time {self.on_time_rate:.1%}, "
            f"{self.throughput_per_day:.1f} orders/day, {self.wall_seconds:.1f} s"
        )
