"""Collector metrics (one Prometheus registry per pipeline) and the health/metrics endpoint.

A registry per pipeline rather than the process-global one, so tests and benchmarks can run
several pipelines in one process and read each one's figures exactly.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

log = logging.getLogger(__name__)

_PREFIX = "millwright_ingest"


class CollectorMetrics:
    """Counters and gauges every collector and the pipeline update.

    ``source`` labels are the configured source names (a handful), never topics or tags, so
    the label set stays small.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, shard: str | None = None
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"{_PREFIX}_{name}", doc, labels, registry=r)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(f"{_PREFIX}_{name}", doc, labels, registry=r)

        self.shard = gauge(
            "shard_info", "This collector's share of the OPC-UA servers (I/N).", "shard"
        )
        self.shard.labels(shard=shard or "1/1").set(1)
        self.messages = counter("messages_received", "Protocol messages received.", "source")
        self.received = counter("readings_received", "Readings decoded.", "source")
        self.written = counter("readings_written", "New rows committed.")
        self.duplicates = counter("readings_duplicate", "Readings already stored (re-deliveries).")
        self.rejected = counter("readings_rejected", "Readings the writer refused.")
        self.quarantined = counter(
            "readings_quarantined",
            "Readings the database refused (isolated by bisection, then dead-lettered).",
        )
        self.dead_lettered = counter(
            "dead_letters", "Messages or readings dead-lettered.", "source"
        )
        self.buffered = gauge("buffered_readings", "Readings waiting in the on-disk buffer.")
        self.buffer_batches = gauge(
            "buffer_batches", "Batches waiting in the on-disk buffer (the replay backlog)."
        )
        self.buffer_oldest_age = gauge(
            "buffer_oldest_age_seconds", "Age of the oldest buffered batch (0 when empty)."
        )
        self.buffer_dropped = counter(
            "buffer_dropped_readings", "Buffered readings dropped by the drop_oldest policy."
        )
        self.buffer_refused = counter(
            "buffer_refused_batches",
            "Batches refused by a full buffer under stop_acknowledging (kept unacknowledged).",
        )
        self.replayed = counter(
            "buffer_replayed_readings", "Buffered readings written after an outage."
        )
        self.pending = gauge("pending_readings", "Readings in memory, not yet committed.")
        self.lag = gauge(
            "source_lag_seconds",
            "Commit time minus the newest reading timestamp of the source's last batch.",
            "source",
        )
        self.batches = counter("batches_committed", "Batches committed.")
        self.write_failures = counter("write_failures", "Batch writes that failed (then buffered).")
        self.database_up = gauge(
            "database_up",
            "1 when the database answered the last write (a refused row does not count as down).",
        )
        self.connected = gauge(
            "source_connected", "1 while the source's connection is up.", "source"
        )
        self.queue_overflows = counter(
            "queue_overflows",
            "Server-side queue overflows detected (OPC-UA monitored items).",
            "source",
        )
        self.sequence_gaps = counter(
            "sequence_gaps", "Sequence gaps detected (Sparkplug B seq).", "source"
        )
        self.rebirth_requests = counter(
            "sparkplug_rebirth_requests",
            "NCMD Node Control/Rebirth requests sent (after a gap or an unknown alias).",
            "source",
        )
        self.events = counter("events", "Machine events recorded.", "kind")

    def written_total(self) -> float:
        """Rows committed so far, read without collecting the whole registry (hot polling)."""
        return float(self.written._value.get())

    @staticmethod
    def value_of(counter: Counter) -> float:
        """An unlabelled counter's value, without collecting the registry."""
        return float(counter._value.get())

    def value(self, name: str, **labels: str) -> float:
        """Current value of a sample by metric name (tests and health read it)."""
        found = self.registry.get_sample_value(name, labels or None)
        return float(found) if found is not None else 0.0


class MetricsServer:
    """``/metrics`` (Prometheus text) and ``/health`` (JSON) on a small threaded HTTP server.

    ``health`` returns a dict with a boolean ``ok``; the endpoint answers 200 when it is true
    and 503 otherwise, so orchestrators can use it as a liveness/readiness probe.
    """

    def __init__(
        self,
        metrics: CollectorMetrics,
        health: Callable[[], dict[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 9108,
    ) -> None:
        self._metrics = metrics
        self._health = health
        handler = self._handler()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ingest-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("metrics and health on http://%s:%d/", *self._server.server_address[:2])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        metrics, health = self._metrics, self._health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/metrics"):
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
                elif self.path.startswith("/health"):
                    try:
                        state = health()
                    except Exception as exc:  # a probe must answer, not crash
                        state = {"ok": False, "error": str(exc)}
                    body = json.dumps(state, default=str).encode()
                    self._send(200 if state.get("ok") else 503, "application/json", body)
                else:
                    self._send(404, "text/plain", b"try /metrics or /health\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("metrics http: " + format, *args)

        return Handler
