"""Risk-aware production and maintenance planning.

Owns the pure scheduling model (`problem` in, `plan` out, CP-SAT backend in `cpsat/`), the
dispatching rules and benchmarks, solve orchestration, and the MES HTTP API.
"""
