"""The demo's maintenance team: a local webhook receiver that verifies every delivery.

It stands where a CMMS or a chat integration would: it checks the Standard Webhooks
signature, drops re-deliveries by their id, and keeps what arrived so the demo can print it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alerts.signing import verify
from millwright.core.broker import free_port

log = logging.getLogger(__name__)


@dataclass
class ReceivedAlert:
    delivery_id: str
    payload: dict[str, Any]


@dataclass
class WebhookReceiver:
    """HTTP receiver on loopback; ``url`` is where the alerts endpoint points."""

    secret: str
    port: int = field(default_factory=free_port)
    received: list[ReceivedAlert] = field(default_factory=list)
    rejected: int = 0
    _seen: set[str] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/maintenance"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    delivery_id = verify(receiver.secret, headers, body)
                except Exception as exc:  # a bad signature is refused, never trusted
                    receiver.rejected += 1
                    log.warning("webhook refused: %s", exc)
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver._accept(delivery_id, json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="webhooks", daemon=True).start()

    def _accept(self, delivery_id: str, payload: dict[str, Any]) -> None:
        with self._lock:
            if delivery_id in self._seen:
                return
            self._seen.add(delivery_id)
            self.received.append(ReceivedAlert(delivery_id, payload))
        data = payload.get("data", payload)
        machine = data.get("machine", {}) if isinstance(data, dict) else {}
        name = machine.get("name") if isinstance(machine, dict) else machine
        log.info("maintenance team received %s for %s", payload.get("type", "alert"), name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
