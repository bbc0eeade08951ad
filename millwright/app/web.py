"""The web service: the MES API (uvicorn) and the dashboard (waitress) in one process.

Production runs one ``web`` container; the demo runs the same thing. Both servers stop
gracefully: uvicorn finishes requests in flight, waitress closes its sockets.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from millwright.app.settings import Settings
from millwright.core.broker import port_open
from millwright.core.storage.database import Database

if TYPE_CHECKING:
    from fastapi import FastAPI

    from alerts import Alert

log = logging.getLogger(__name__)


def mes_api(settings: Settings, database: Database) -> FastAPI:
    """The MES API wired to the alerts package: an acknowledgement through the API is the
    same as one from the dashboard or the CLI, and tells subscribed webhooks."""
    from alerts import acknowledge
    from api import create_app

    def ack(alert_id: int, username: str) -> Alert:
        return acknowledge(
            database, alert_id, username, config=settings.alerts, public_url=settings.public_url
        )

    return create_app(settings, database, alert_ack=ack)


@dataclass(frozen=True)
class WebAddresses:
    api: str
    dashboard: str


class WebServers:
    """Starts the API and the dashboard on their ports in background threads."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        host: str = "127.0.0.1",
        api_port: int = 8000,
        dashboard_port: int = 8050,
    ) -> None:
        self._settings = settings
        self._database = database
        self._host = host
        self._api_port = api_port
        self._dashboard_port = dashboard_port
        self._uvicorn: Any = None
        self._waitress: Any = None
        self._threads: list[threading.Thread] = []

    def start(self, timeout: float = 30.0) -> WebAddresses:
        import uvicorn
        import waitress

        from dashboard import create_dashboard

        settings, database = self._settings, self._database
        api = mes_api(settings, database)
        self._uvicorn = uvicorn.Server(
            uvicorn.Config(api, host=self._host, port=self._api_port, log_config=None)
        )
        dash_app = create_dashboard(settings, database, bind_host=self._host)
        self._waitress = waitress.create_server(
            dash_app.server, host=self._host, port=self._dashboard_port, threads=8
        )
        for name, target in (("api", self._uvicorn.run), ("dashboard", self._waitress.run)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        for port in (self._api_port, self._dashboard_port):
            while not port_open("127.0.0.1" if self._host == "0.0.0.0" else self._host, port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the web service did not open port {port}")
                time.sleep(0.05)
        shown = "127.0.0.1" if self._host == "0.0.0.0" else self._host
        return WebAddresses(
            api=f"http://{shown}:{self._api_port}/api/v1",
            dashboard=f"http://{shown}:{self._dashboard_port}/",
        )

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._waitress is not None:
            self._waitress.close()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()
