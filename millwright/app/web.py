"""The web service: the MES API (uvicorn) and the dashboard (waitress) in one process.

Production runs one ``web`` container; the demo runs the same thing. Both ports are bound
before anything else starts, so a busy port is one sentence naming it and its option, and
the servers listen on exactly those sockets (no one can take a port in between). Both
servers stop gracefully: uvicorn finishes requests in flight, waitress closes its sockets.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from millwright.app.settings import Settings
from millwright.core.ports import bind_listener
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
    """Binds the API and dashboard ports at once; ``start`` serves them in background threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        api_port: int = 8000,
        dashboard_port: int = 8050,
    ) -> None:
        self._settings = settings
        self._host = host
        self._api_port = api_port
        self._dashboard_port = dashboard_port
        self._uvicorn: Any = None
        self._waitress: Any = None
        self._threads: list[threading.Thread] = []
        self._failed: list[str] = []
        # Bound now, before any import or database work: a busy port stops the service here.
        self._api_socket = bind_listener(host, api_port, what="MES API", option="--api-port")
        try:
            self._dashboard_socket = bind_listener(
                host, dashboard_port, what="dashboard", option="--dashboard-port"
            )
        except BaseException:
            self._api_socket.close()
            raise

    def start(self, database: Database, timeout: float = 30.0) -> WebAddresses:
        import uvicorn
        import waitress

        from dashboard import create_dashboard

        settings = self._settings
        api = mes_api(settings, database)
        self._uvicorn = uvicorn.Server(
            uvicorn.Config(api, host=self._host, port=self._api_port, log_config=None)
        )
        dash_app = create_dashboard(settings, database, bind_host=self._host)
        self._waitress = waitress.create_server(
            dash_app.server, sockets=[self._dashboard_socket], threads=8
        )
        sockets = [self._api_socket]
        for name, target in (
            ("api", lambda: self._uvicorn.run(sockets=sockets)),
            ("dashboard", self._waitress.run),
        ):
            thread = threading.Thread(target=self._guarded(name, target), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        while not self._uvicorn.started:
            if self._failed or not self._threads[0].is_alive():
                raise RuntimeError(f"the MES API did not start: {'; '.join(self._failed)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the MES API did not start within {timeout:.0f} s")
            time.sleep(0.05)
        shown = "127.0.0.1" if self._host == "0.0.0.0" else self._host
        return WebAddresses(
            api=f"http://{shown}:{self._api_port}/api/v1",
            dashboard=f"http://{shown}:{self._dashboard_port}/",
        )

    def failed(self) -> list[str]:
        """One line per server thread that ended on its own (empty while both serve)."""
        ended = [t.name for t in self._threads if not t.is_alive()]
        return self._failed or [f"the {name} server stopped" for name in ended]

    def _guarded(self, name: str, target: Any) -> Any:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # SystemExit from uvicorn included
                self._failed.append(f"the {name} server stopped: {exc!r}")
                log.exception("the %s server stopped", name)

        return run

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._waitress is not None:
            self._waitress.close()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()
