"""A real HTTP receiver on loopback, scripted per request, and alerts test helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.config import AlertsConfig, EndpointConfig
from alerts.outbox import Delivery, DeliveryState, get_delivery
from millwright.core.storage.database import Database

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"  # base64 of 24 letters


@dataclass
class Reply:
    """How the receiver answers one request; ``hold`` blocks the answer until it is set."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic()
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An http.server on 127.0.0.1 that records every request and answers from a script."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.requests: list[Received] = []
        self.holding = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            time.monotonic(),
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )
                    reply = receiver.script.pop(0) if receiver.script else Reply()
                if reply.hold is not None:
                    receiver.holding.set()
                    reply.hold.wait(30)
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender died while we held the answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a held request must not stall the teardown
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.start()
    try:
        yield rx
    finally:
        rx.stop()


def make_config(url: str, **endpoint: Any) -> AlertsConfig:
    """One endpoint ``rx`` allowed on loopback, with small backoff so tests stay fast."""
    options: dict[str, Any] = {
        "name": "rx",
        "url": url,
        "secrets": [SECRET],
        "allow_private": True,
        "max_attempts": 5,
        "timeout_s": 2.0,
    }
    options.update(endpoint)
    return AlertsConfig(
        endpoints=[EndpointConfig(**options)],
        backoff_base_s=0.05,
        backoff_max_s=2.0,
        lease_margin_s=0.5,
        interval_s=0.05,
    )


def wait_settled(
    database: Database, delivery_id: str, step: Any, timeout: float = 15.0
) -> Delivery:
    """Call ``step()`` until the delivery leaves ``pending`` (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step()
        delivery = get_delivery(database, delivery_id)
        assert delivery is not None
        if delivery.state is not DeliveryState.PENDING:
            return delivery
        time.sleep(0.01)
    raise AssertionError(f"delivery {delivery_id} still pending after {timeout} s")


def add_machine(
    database: Database, name: str = "press-1", machine_class: str = "press", line: str = "L1"
) -> int:
    rows = database.execute(
        "INSERT INTO machines (name, line, machine_class) VALUES (%s, %s, %s) RETURNING id",
        (name, line, machine_class),
    )
    return int(rows[0][0])
