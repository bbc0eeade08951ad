"""Request and response models of the MES API, by role: `*Create`, `*Update`, `*Public`.

Every field has bounds, so anything the OpenAPI document allows is something the server can
store and plan: identifiers have a length and a character set, numbers a finite range and
are strict (``true`` is not 1), datetimes must carry a time zone, and a PATCH body needs at
least one field (``minProperties: 1``). Checks that need the database (does this machine exist?)
live in the plain functions and answer 422 in the same shape.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

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


class UnplacedPublic(_Out):
    subject: str = Field(description="The operation (job/seq) or maintenance task.")
    reason: str


class TradeoffPublic(_Out):
    """A replan's stable plan against re-dispatching, in production cost (the objective
    without the plan-change terms): what keeping the machine lists costs, and which was taken."""

    stable_production: float = Field(description="The stable plan's production cost.")
    stable_resequenced: int = Field(description="Unaffected operations it resequenced.")
    redispatch_production: float = Field(description="Re-dispatching's (EDD) production cost.")
    loss: float | None = Field(description="How much more the stable plan costs, as a share.")
    max_loss: float | None = Field(description="`replan_max_loss` in force (null: never).")
    chosen: str = Field(description="stable or redispatch.")


class PlanStatusPublic(_Out):
    stale: bool = Field(description="A later request failed: this plan is kept but stale.")
    stale_reason: str | None
    failed_schedule_id: int | None


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
    degraded: bool = Field(
        default=False, description="True when the plan is the dispatching rule's fallback."
    )
    status_reason: str | None = Field(
        default=None, description="Why the plan is degraded, partial or missing, in words."
    )
    unplaced: list[UnplacedPublic] = Field(
        default_factory=list, description="Work left out of the plan, and why."
    )
    released: list[str] = Field(
        default_factory=list, description="Frozen placements a disruption let go."
    )
    moved_operations: int | None = Field(
        default=None, description="Previously planned operations this plan moved."
    )
    affected_operations: int | None = Field(
        default=None,
        description="Operations with no valid previous placement (a disruption, a new order).",
    )
    resequenced_operations: int | None = Field(
        default=None,
        description="Of the moved: on another machine or at another place in its machine's"
        " list of previously planned work.",
    )
    shifted_operations: int | None = Field(
        default=None,
        description="Of the moved: same machine and place in its list, another start time.",
    )
    tradeoff: TradeoffPublic | None = Field(
        default=None,
        description="A large replan's stable plan against re-dispatching, and the choice.",
    )


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
    unplaced: list[UnplacedPublic] = Field(
        default_factory=list, description="Steps of this job the plan leaves out, and why."
    )


class PlanPublic(_Out):
    schedule: SchedulePublic
    status: PlanStatusPublic
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


# --- plant events and downtime --------------------------------------------------------------

EventKind = Literal["failure", "repair", "maintenance", "inspection", "downtime"]
_TEXT = Annotated[str, StringConstraints(min_length=1, max_length=500)]
WorkOrder = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class EventCreate(_In):
    """One event from the CMMS or the MES. A `downtime` needs `end`; it becomes a window the
    scheduler plans around. A `failure` or `downtime` queues a replan."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "downtime"}}, "required": ["kind"]},
            "then": {"required": ["end"]},
        },
    )

    machine: MachineName = Field(description="A machine the API knows (else 422).")
    kind: EventKind
    ts: AwareDatetime = Field(description="When it happened (or starts).")
    end: AwareDatetime | None = Field(
        default=None, description="When it ended (maintenance, downtime); not before ts."
    )
    component: _TEXT | None = None
    work_order: WorkOrder | None = Field(
        default=None, description="The CMMS id: the same work order twice is one event."
    )
    note: _TEXT | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        if self.end is not None and self.end < self.ts:
            raise ValueError("end must not be before ts")
        if self.kind == "downtime" and (self.end is None or self.end <= self.ts):
            raise ValueError("a downtime needs an end after its ts")
        return self


def _no_epoch(value: Any) -> Any:
    """A query's date-time is RFC 3339 text; pydantic would read "0.5" as Unix seconds."""
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", value):
        raise PydanticCustomError(
            "datetime_type", "expected an RFC 3339 date-time with an offset, not a number"
        )
    return value


QueryDatetime = Annotated[AwareDatetime, BeforeValidator(_no_epoch)]
MAX_EVENTS = 1000
EventBatch = Annotated[list[EventCreate], Field(min_length=1, max_length=MAX_EVENTS)]


class EventPublic(_Out):
    id: int
    machine: str
    kind: str
    ts: datetime
    end: datetime | None
    component: str | None
    work_order: str | None
    note: str | None
    source: str
    downtime_id: int | None = Field(description="The calendar window of a downtime.")
    created: bool = Field(description="False when the same event was already stored.")


class DowntimeCreate(_In):
    """A breakdown (`expected_end`: a best guess) or a planned stop (`end`); exactly one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["end"]}, {"required": ["expected_end"]}]},
    )

    start: AwareDatetime
    # (null is not a value: the document must not offer {"expected_end": null} alone)
    end: AwareDatetime = Field(default=None, description="A planned stop's end.")  # type: ignore[assignment]
    expected_end: AwareDatetime = Field(  # type: ignore[assignment]
        default=None, description="A breakdown's expected end."
    )
    reason: _TEXT | None = None
    work_order: WorkOrder | None = None

    @model_validator(mode="after")
    def _one_end(self) -> DowntimeCreate:
        if (self.end is None) == (self.expected_end is None):
            raise ValueError("give exactly one of end and expected_end")
        end = self.end or self.expected_end
        assert end is not None
        if end <= self.start:
            raise ValueError("the end must be after the start")
        return self


class DowntimePublic(_Out):
    id: int = Field(description="DELETE /machines/{name}/downtime/{id} withdraws it.")
    machine: str
    start: datetime
    end: datetime
    expected: bool = Field(description="True when the end is a breakdown's estimate.")
    reason: str | None
    event_id: int
