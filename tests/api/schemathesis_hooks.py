"""schemathesis hooks for `test_schemathesis_cli`: positive cases speak of the seeded plant.

Some rules depend on the plant's state or tie two fields together, which JSON Schema cannot
say (the document says them in words): a machine must exist, a machine is listed once per
step, a job's steps are numbered 0, 1, 2, ..., due_at is not before release_at, an end is
after its start, and a reported time is not in the future. Positive (schema-valid) cases are
mapped onto data that keeps those rules, so the positive-data check stays on for every
operation; negative cases are left as generated.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation.modes import GenerationMode

MACHINES = ("M1", "M2", "M3")  # tests.scheduler.plant.seed_machines
PAST = "2020-01-01T00:00:00Z"


def _options(options: list[Any]) -> list[Any]:
    kept = [o for o in options if isinstance(o, dict)][: len(MACHINES)]
    for option, machine in zip(kept, MACHINES, strict=False):
        option["machine"] = machine
    return kept or options


def _fix(value: Any) -> Any:
    if isinstance(value, list):
        return [_fix(v) for v in value]
    if not isinstance(value, dict):
        return value
    fixed = {k: _fix(v) for k, v in value.items()}
    if isinstance(fixed.get("operations"), list):
        for seq, operation in enumerate(fixed["operations"]):
            if isinstance(operation, dict):
                operation["seq"] = seq
    if isinstance(fixed.get("options"), list):
        fixed["options"] = _options(fixed["options"])
    if isinstance(fixed.get("machine"), str):
        fixed["machine"] = MACHINES[0]
    if isinstance(fixed.get("at"), str):
        fixed["at"] = PAST
    if isinstance(fixed.get("release_at"), str):
        fixed["release_at"] = PAST
    if isinstance(fixed.get("due_at"), str):
        fixed["due_at"] = "2040-01-01T00:00:00Z"
    for start in ("ts", "start"):  # events and downtime: a start, then an end after it
        if isinstance(fixed.get(start), str):
            fixed[start] = PAST
    for end in ("end", "expected_end"):
        if isinstance(fixed.get(end), str):
            fixed[end] = "2040-01-01T00:00:00Z"
    return fixed


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    if mode is GenerationMode.POSITIVE and isinstance(case.body, dict | list):
        case.body = _fix(case.body)
    return case
