"""Risk-aware production and maintenance planning: the pure CP-SAT model (problem in, plan out), solve orchestration, and the MES HTTP API."""
