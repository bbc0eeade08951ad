"""Name the constraint and the job or machine behind an infeasible problem.

The model is rebuilt with each infeasibility-prone family guarded by an assumption literal;
CP-SAT's sufficient assumptions for infeasibility is then a small core of those guards.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from scheduler.cpsat.constraints import Constraints
from scheduler.cpsat.variables import Variables
from scheduler.problem import Problem


def explain_infeasible(problem: Problem, time_limit_s: float = 5.0) -> list[str]:
    """Sentences naming the conflicting constraints; a generic one if no core was found."""
    model = cp_model.CpModel()
    variables = Variables.build(model, problem, explain=True)
    constraints = Constraints(problem, variables)
    constraints.add_constraints()
    model.add_assumptions(constraints.assumption_literals)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1  # cores come from the single-threaded search
    status = solver.solve(model)
    if status != cp_model.INFEASIBLE:
        return [
            "the constraints conflict in a way no single family explains (try a longer "
            "horizon or check machine eligibility)"
        ]
    core = solver.sufficient_assumptions_for_infeasibility()
    found = [constraints.assumptions[i] for i in core if i in constraints.assumptions]
    if not found:
        return ["the operation order, machine capacity and crew cannot fit together"]
    return ["these constraints cannot all hold: " + "; ".join(found), *found]
