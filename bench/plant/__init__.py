"""Policy evaluation on a replayed plant: what Millwright's predictions are worth in money.

A discrete-event run of the simulator core (:class:`sim.Plant`, no network, no readings) with a
production floor on top: orders arrive with due dates, flow through lines of interchangeable
machines, and are scrapped when a machine fails under them. Machine health follows C-MAPSS
engines held out from training. Four maintenance policies run the same plant, orders and costs:

- ``reactive``: repair on failure;
- ``preventive``: maintenance at a fixed age, the interval tuned on the training engines;
- ``predictive``: Millwright's RUL and risk models feeding the risk-aware CP-SAT scheduler,
  replanning on a cadence and on failures;
- ``oracle``: maintenance just before the true failure, the limit no policy can beat by much.

Everything here is pure (no I/O) except ``cli.py``, which prints what ``run.run_seeds``
returns. Nothing is imported here, so registering the command stays cheap.
"""
