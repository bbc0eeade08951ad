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
EARLIEST = datetime(1, 2, 1, tzinfo=UTC)


DateTime = Annotated[
    str | None,
    Query(json_schema_extra={"format": "date-time"}, description="ISO 8601, UTC if no offset."),
]


def _utc(value: str | None, name: str) -> datetime | None:
    """ISO 8601 only (no unix numbers), naive read as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{name}' must be an ISO 8601 time such as 2026-11-01T00:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("")
def get_outcomes(
    request: Request,
    db: DB,
    user: Reader,
    start: Annotated[DateTime, Query(alias="from")] = None,
    end: Annotated[DateTime, Query(alias="to")] = None,
    group: Literal["machine", "line", "plant"] = "plant",
    bucket: Literal["day", "week", "month"] | None = None,
) -> dict[str, Any]:
    """Availability, downtime, MTBF/MTTR, recall, lead times, false alarms, maintenance done
    vs planned, orders on time and costs; ``to`` defaults to now, ``from`` to 30 days before.
    A period that is empty (``to`` not after ``from``) has no figures."""
    until = _utc(end, "to") or datetime.now(UTC)
    since = _utc(start, "from") or max(until - timedelta(days=30), EARLIEST)
    if until <= since:
        return {
            "from": since.isoformat(), "to": until.isoformat(), "group": group,
            "figures": [], "bucket": bucket, "trend": [], "counterfactual": None,
            "note": "the period is empty: 'to' is not after 'from'",
        }  # fmt: skip
    config = getattr(request.app.state.settings, "outcomes", None) or OutcomesConfig()
    result = compute_outcomes(db, config, since, until, group=Group(group), bucket=bucket)
    return result.as_dict()
