"""`create_app(settings, database)`: the MES API as a FastAPI app, built once, no globals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from api.errors import install_error_handlers
from api.idempotency import Idempotency
from api.limits import BodyLimit
from api.plant import AckFunction
from api.routers import alerts, events, health, jobs, machines, outcomes, plan, schedules
from millwright import __version__
from millwright.core.settings import CoreSettings
from millwright.core.users import UserStore
from scheduler import SchedulerConfig

if TYPE_CHECKING:
    from millwright.core.storage.database import Database

PREFIX = "/api/v1"

DESCRIPTION = """
The Millwright scheduler for an MES: submit jobs, read machines and their failure risk, ask
for a risk-aware (re)schedule, read the plan, report work from the shop floor.

**Authentication**: `Authorization: Bearer <token>` (tokens from `millwright users token`).
Missing, invalid or revoked token: 401. Roles: any user reads; `planner` submits, changes and
cancels jobs and requests schedules; `planner` or `maintenance` report step start/finish and
acknowledge alerts; `admin` may do everything. A missing role: 403.

**Errors** always look like `{"error": {"code", "message", "details": [{"loc", "message",
"type"}]}}`.

**Idempotency**: send `Idempotency-Key` on any POST; a retry with the same key and body gets
the first response again (header `Idempotency-Replayed: true`), the same key with another
body gets 409.
"""


def create_app(settings: CoreSettings, database: Database, *, alert_ack: AckFunction) -> FastAPI:
    """The API over `database`, configured by the settings' ``scheduler`` section.

    `alert_ack` acknowledges an alert: the composition root passes the alerts package's
    acknowledgement (which also tells subscribed webhooks), see :mod:`millwright.app.web`.
    """
    config = settings.section("scheduler", SchedulerConfig)
    # Swagger UI and ReDoc from the assets fastapi-offline ships (no CDN, no web fonts):
    # /docs and /redoc work on a plant network without internet.
    app = FastAPIOffline(
        title="Millwright MES API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        static_url="/docs-assets",
    )
    app.state.settings = settings
    app.state.scheduler_config = config
    app.state.database = database
    app.state.users = UserStore(database)
    app.state.alert_ack = alert_ack
    install_error_handlers(app)
    api = APIRouter(prefix=PREFIX)
    for router in (health.router, jobs.router, machines.router, schedules.router, plan.router,
                   alerts.router, events.router, outcomes.router):  # fmt: skip
        api.include_router(router)
    app.include_router(api)
    # Added last is outermost: the size limit applies before idempotency reads the body.
    app.add_middleware(Idempotency, database=database, ttl_hours=config.idempotency_ttl_hours)
    app.add_middleware(BodyLimit, max_bytes=config.api_max_body_bytes)
    return app
