"""Request and response models of the MES API, by role: `*Create`, `*Update`, `*Public`.

Every field has bounds, so anything the OpenAPI document allows is something the server can
store and plan: identifiers have a length and a character set, numbers a finite range and
are strict (``true`` is not 1), datetimes must carry a time zone, and a PATCH body needs at
least one field (``minProperties: 1``). Checks that need the database (does this machine exist?)
live in the plain functions and answer 422 in the same shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
]
MachineName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


def _json_number(value: Any) -> Any:
    """JSON numbers only: pydantic's lax mode would take ``true`` as 1 and ``"2"`` as 2,
    which the document (``type: number``/``integer``) does not allow."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(
            "number_type", "expected a JSON number, not {kind}", {"kind": _json_kind(value)}
        )
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else f"a {type(value).__name__}"


Number = Annotated[float, BeforeValidator(_json_number)]
Integer = Annotated[int, BeforeValidator(_json_number)]  # 3.0 is an integer; 3.5 is not
MAX_DURATION_S = 30 * 24 * 3600
MAX_OPERATIONS = 200
MAX_OPTIONS = 50
AT_RULE = "When it happened (default: now); not ahead of the server's clock (else 422)."
# Uniqueness by one property is beyond JSON Schema, so the document says it in words.
OPTIONS_RULE = "Eligible machines with their run times; each machine at most once (else 422)."


class _In(BaseModel):
    """Input models refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- jobs and operations ------------------------------------------------------------------


class OptionIn(_In):
    machine: MachineName = Field(
        description="Name of an eligible machine, one the API knows (GET /machines); an"
        " unknown name is refused with 422 `unknown_machine`."
    )
    duration_s: Integer = Field(gt=0, le=MAX_DURATION_S, description="Run time on that machine.")


def _unique_machines(options: list[OptionIn]) -> list[OptionIn]:
    names = [o.machine for o in options]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"machine {duplicates[0]} is listed twice among the options")
    return options


class OperationCreate(_In):
    seq: Integer = Field(ge=0, lt=MAX_OPERATIONS, description="Position in the job: 0, 1, 2, ...")
    name: str = Field(default="", max_length=200)
    options: list[OptionIn] = Field(min_length=1, max_length=MAX_OPTIONS, description=OPTIONS_RULE)

    @model_validator(mode="after")
    def _options_unique(self) -> OperationCreate:
        _unique_machines(self.options)
        return self


def _contiguous(operations: list[OperationCreate]) -> None:
    seqs = sorted(op.seq for op in operations)
    if seqs != list(range(len(seqs))):
        raise ValueError(
            f"operation seqs must be 0..{len(seqs) - 1} without gaps or repeats, got {seqs}"
        )


class RoutingIn(_In):
    """A job's whole routing, replacing the previous one."""

    operations: list[OperationCreate] = Field(min_length=1, max_length=MAX_OPERATIONS)

    @model_validator(mode="after")
    def _seqs(self) -> RoutingIn:
        _contiguous(self.operations)
        return self


class JobCreate(_In):
    external_id: ExternalId = Field(description="The MES's own order id; unique.")
    release_at: AwareDatetime = Field(description="No operation starts before this.")
    due_at: AwareDatetime = Field(
        description="Finishing later costs `weight` per minute; not before release_at (else 422)."
    )
    weight: Number = Field(default=1.0, ge=0, le=1e6)
    value: Number = Field(default=1.0, ge=0, le=1e9, description="Scales failure cost.")
    operations: list[OperationCreate] = Field(min_length=1, max_length=MAX_OPERATIONS)

    @model_validator(mode="after")
    def _consistent(self) -> JobCreate:
        if self.due_at < self.release_at:
            raise ValueError("due_at must not be before release_at")
        _contiguous(self.operations)
        return self


class JobUpdate(_In):
    """Fields to change; omitted fields keep their value (null is not a value)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    release_at: AwareDatetime = Field(default=None)  # type: ignore[assignment]
    due_at: AwareDatetime = Field(default=None)  # type: ignore[assignment]
    weight: Number = Field(default=None, ge=0, le=1e6)  # type: ignore[assignment]
    value: Number = Field(default=None, ge=0, le=1e9)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _something(self) -> JobUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of release_at, due_at, weight, value")
        if self.release_at and self.due_at and self.due_at < self.release_at:
            raise ValueError("due_at must not be before release_at")
        return self


class OperationUpdate(_In):
    """Fields to change; omitted fields keep their value (null is not a value)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: str = Field(default=None, max_length=200)  # type: ignore[assignment]
    options: list[OptionIn] = Field(
        default=None,  # type: ignore[arg-type]
        min_length=1,
        max_length=MAX_OPTIONS,
        description=OPTIONS_RULE,
    )

    @model_validator(mode="after")
    def _something(self) -> OperationUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, options")
        if self.options is not None:
            _unique_machines(self.options)
        return self


class OperationStart(_In):
    machine: MachineName = Field(description="Where it runs; one of the operation's options.")
    at: AwareDatetime | None = Field(default=None, description=AT_RULE)


class OperationFinish(_In):
    at: AwareDatetime | None = Field(default=None, description=AT_RULE)


class OptionPublic(_Out):
    machine: str
    duration_s: int


class OperationPublic(_Out):
    seq: int
    name: str
    status: str
    machine: str | None
    started_at: datetime | None
    finished_at: datetime | None
    options: list[OptionPublic]


class JobPublic(_Out):
    external_id: str
    release_at: datetime
    due_at: datetime
    weight: float
    value: float
    status: str
    created_at: datetime
    updated_at: datetime
    operations: list[OperationPublic]


class JobList(_Out):
    items: list[JobPublic]
    total: int


# --- machines -----------------------------------------------------------------------------


class RiskPublic(_Out):
    scored_at: datetime
    model_version: str
    horizon_hours: float
    p_fail: float = Field(description="Probability of failure within horizon_hours.")
    rul_hours: float | None
    rul_low_hours: float | None = Field(description="Low quantile of remaining useful life.")
    predicted_failure_at: datetime | None = Field(description="scored_at + rul_low_hours.")
    top_features: list[Any]


class MachinePublic(_Out):
    name: str
    line: str | None
    machine_class: str | None
    status: str
    status_since: datetime
    risk: RiskPublic | None


# --- schedules and plans ------------------------------------------------------------------


class ScheduleRequest(_In):
    # (A strict float, not `Number`: a before-validator inside a union leaks pydantic's
    # gt/le into the JSON schema instead of exclusiveMinimum/maximum.)
    time_limit_s: Annotated[float, Strict(), Field(gt=0, le=600)] | None = Field(
        default=None, description="Solver limit; default from the settings."
    )


class ViolationPublic(_Out):
    constraint: str
    subject: str
    amount_minutes: int
    message: str


class SchedulePublic(_Out):
    id: int
    state: str = Field(description="requested, solving, done or failed.")
    requested_at: datetime
    requested_by: str | None
    solver_status: str | None
    objective: float | None
    bound: float | None
    runtime_s: float | None
    time_limit_s: float | None
    plan_start: datetime | None
    is_current: bool
    finished_at: datetime | None
    error: str | None
    explanations: list[str]
    violations: list[ViolationPublic]


class AssignmentPublic(_Out):
    kind: str = Field(description="operation or maintenance.")
    machine: str
    job: str | None
    seq: int | None
    name: str | None = Field(description="Operation name, or the maintenance task's name.")
    start_at: datetime
    end_at: datetime
    reason: dict[str, Any] = Field(description="The risk that drove this decision, if any.")


class MachinePlan(_Out):
    machine: str
    items: list[AssignmentPublic]


class JobPlan(_Out):
    job: str
    due_at: datetime
    completion_at: datetime | None
    lateness_minutes: int | None
    operations: list[AssignmentPublic]


class PlanPublic(_Out):
    schedule: SchedulePublic
    machines: list[MachinePlan]
    jobs: list[JobPlan]


class MachineDispatch(_Out):
    schedule_id: int
    plan_start: datetime | None
    machine: str
    items: list[AssignmentPublic]


class JobPlanPublic(JobPlan):
    schedule_id: int


# --- alerts and health --------------------------------------------------------------------


class AlertAck(_Out):
    id: int
    machine: str
    rule: str
    state: str
    acked_at: datetime
    acked_by: str


class Health(_Out):
    status: str
    database: bool
