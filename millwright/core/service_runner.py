"""Run periodic tasks until SIGTERM, with a health endpoint: the shape of every worker.

Each task runs on its own cadence in its own thread; a failing run is logged and retried on
the next tick rather than killing the service. SIGTERM and SIGINT stop the loops after the
run in progress finishes, so a restart never sees a half-written result.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class PeriodicTask:
    """A named function run every ``every_s`` seconds."""

    name: str
    every_s: float
    run: Callable[[], object]
    runs: int = 0
    failures: int = 0
    last_ok: float | None = None
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.every_s <= 0:
            raise ValueError(f"task {self.name} needs a positive period, got {self.every_s}.")

    def run_once(self) -> None:
        with self._lock:
            self.runs += 1
            try:
                self.run()
                self.last_ok = time.time()
                self.last_error = None
            except Exception as exc:  # a bad run must not stop the service
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("task %s failed", self.name)

    def health(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "failures": self.failures,
            "last_ok": self.last_ok,
            "last_error": self.last_error,
        }


class ServiceRunner:
    """Runs tasks until stopped; ``/health`` answers with each task's state."""

    def __init__(
        self,
        tasks: list[PeriodicTask],
        *,
        health_port: int | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.tasks = tasks
        # Tasks given the same event end long runs early when the service stops.
        self.stop_event = stop_event or threading.Event()
        self._threads: list[threading.Thread] = []
        self._health_port = health_port
        self._server: ThreadingHTTPServer | None = None

    def _loop(self, task: PeriodicTask) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            task.run_once()
            self.stop_event.wait(max(0.0, task.every_s - (time.monotonic() - started)))

    def start(self) -> None:
        for task in self.tasks:
            thread = threading.Thread(target=self._loop, args=(task,), name=task.name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._health_port is not None:
            self._server = _health_server(self._health_port, self)
            threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def run_until_signalled(self) -> None:
        """Start, wait for SIGTERM/SIGINT, stop gracefully."""
        previous = {
            sig: signal.signal(sig, lambda *_: self.stop_event.set())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            while not self.stop_event.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "tasks": {t.name: t.health() for t in self.tasks}}


def _health_server(port: int, runner: ServiceRunner) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/health":
                self.send_error(404)
                return
            body = json.dumps(runner.health()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return ThreadingHTTPServer(("0.0.0.0", port), Handler)
