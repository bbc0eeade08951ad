"""The plant evaluation's costs are production's: one cost model (:mod:`outcomes.costs`)."""

from outcomes.costs import CostModel, Ledger

__all__ = ["CostModel", "Ledger"]
