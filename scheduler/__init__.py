"""Risk-aware production and maintenance planning.

Owns the pure scheduling model (`problem` in, `plan` out, CP-SAT backend in `cpsat/`), how a
problem is settled before solving so disruptions never cost the whole plan (`settle`), the
dispatching rules (warm start, fallback and baseline), the hard-rule check (`validate`),
shop-floor disruptions as problem edits (`disruption`), and solve orchestration with the plan
status the API and dashboard show (`service.plan_status`: degraded to dispatch, stale after a
failed request).
"""
