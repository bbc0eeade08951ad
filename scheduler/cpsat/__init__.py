"""CP-SAT backend: `variables` → `constraints` → `objective` → `solver.solve`.

Split by the stages of building a model (after PyJobShop), so each constraint family is one
method that can be read and tested on its own.
"""

from scheduler.cpsat.solver import solve

__all__ = ["solve"]
