"""/outcomes: what the predictive loop earned the plant over a period (figures, trend,
counterfactual), per machine, line or plant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from api.auth import Reader
from api.errors import Invalid
from api.routers.common import DB, ERRORS
from outcomes import Group, OutcomesConfig, compute_outcomes

router = APIRouter(prefix="/outcomes", tags=["outcomes"], responses=ERRORS)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("")
def get_outcomes(
    request: Request,
    db: DB,
    user: Reader,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    group: Literal["machine", "line", "plant"] = "plant",
    bucket: Literal["day", "week", "month"] | None = None,
) -> dict[str, Any]:
    """Availability, downtime, MTBF/MTTR, recall, lead times, false alarms, maintenance done
    vs planned, orders on time and costs; ``to`` defaults to now, ``from`` to 30 days before."""
    until = _utc(end) or datetime.now(UTC)
    since = _utc(start) or until - timedelta(days=30)
    if until <= since:
        raise Invalid(f"'to' ({until.isoformat()}) must come after 'from' ({since.isoformat()})")
    config = getattr(request.app.state.settings, "outcomes", None) or OutcomesConfig()
    result = compute_outcomes(db, config, since, until, group=Group(group), bucket=bucket)
    return result.as_dict()
