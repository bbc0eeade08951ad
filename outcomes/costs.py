"""What downtime, failures, maintenance, scrap and late orders cost, and the running tally.

One cost model for the plant evaluation (``eval plant``) and for production's outcome figures
(:mod:`outcomes.figures`): the same :class:`CostModel` and :class:`Ledger`, the same
``[outcomes]`` settings section (:class:`outcomes.config.OutcomesConfig`).

Defaults describe a mid-size machining plant (euros). They are the same for every policy:

=========================  =========  ==================================================
item                       default    why
=========================  =========  ==================================================
tardiness                  40 €/h     contract penalty and expediting per order-hour late
downtime                   150 €/h    idle operators and overhead per machine-hour stopped
repair (unplanned)         6,000 €    emergency crew, parts, collateral damage
maintenance (planned)      1,500 €    planned crew and parts
material per part          400 €      lost with the part when a failure scraps it
value added per hour       60 €/h     processing already spent on a scrapped part
=========================  =========  ==================================================

With the plant's 24 h repair and 6 h maintenance, a failure costs about 6,000 + 24 × 150 =
9,600 € plus the scrapped part, a planned maintenance 1,500 + 6 × 150 = 2,400 €: about four
times less, as industry rules of thumb have it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class CostModel:
    """Unit costs in euros; see the module table for the defaults and their reasons."""

    tardiness_per_hour: float = 40.0
    downtime_per_hour: float = 150.0
    repair: float = 6000.0
    maintenance: float = 1500.0
    material_per_part: float = 400.0
    value_per_hour: float = 60.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"cost {f.name} must be >= 0, got {getattr(self, f.name)}")

    def scrap(self, processed_minutes: float) -> float:
        """A scrapped part: its material and the processing already spent on it."""
        return self.material_per_part + self.value_per_hour * processed_minutes / 60.0

    def failure(self, repair_hours: float, expected_scrap: float) -> float:
        """Expected cost of one unplanned failure (for tuning and the solver's weights)."""
        return self.repair + self.downtime_per_hour * repair_hours + expected_scrap

    def planned(self, maintenance_hours: float) -> float:
        """Cost of one planned maintenance, its downtime included."""
        return self.maintenance + self.downtime_per_hour * maintenance_hours


@dataclass
class Ledger:
    """The running cost tally of one run, by component, with the counts behind it."""

    costs: CostModel
    tardiness: float = 0.0
    downtime: float = 0.0
    repairs: float = 0.0
    maintenance: float = 0.0
    scrap: float = 0.0
    failures: int = 0
    maintenance_count: int = 0
    scrapped_parts: int = 0
    downtime_minutes: int = 0

    def failure(self, down_minutes: int) -> None:
        """An unplanned failure: the repair and the downtime falling inside the run."""
        self.failures += 1
        self.repairs += self.costs.repair
        self._down(down_minutes)

    def maintained(self, down_minutes: int) -> None:
        """A planned maintenance that really ran (skipped orders cost nothing)."""
        self.maintenance_count += 1
        self.maintenance += self.costs.maintenance
        self._down(down_minutes)

    def stopped(self, down_minutes: int) -> None:
        """Downtime of a stop booked in an earlier period (its repair or maintenance was)."""
        self._down(down_minutes)

    def scrapped(self, processed_minutes: float) -> None:
        self.scrapped_parts += 1
        self.scrap += self.costs.scrap(processed_minutes)

    def late(self, minutes: int) -> None:
        if minutes > 0:
            self.tardiness += self.costs.tardiness_per_hour * minutes / 60.0

    def by_category(self) -> dict[str, float]:
        """Euros per category, and the total."""
        return {
            "downtime": self.downtime,
            "repairs": self.repairs,
            "maintenance": self.maintenance,
            "scrap": self.scrap,
            "tardiness": self.tardiness,
            "total": self.total,
        }

    def _down(self, minutes: int) -> None:
        self.downtime_minutes += minutes
        self.downtime += self.costs.downtime_per_hour * minutes / 60.0

    @property
    def total(self) -> float:
        return self.tardiness + self.downtime + self.repairs + self.maintenance + self.scrap
